"""Benchmarks of the onboarding core, each figure a ratio against a baseline of the same run.

Run from the project's root: ``python bench/core.py`` (or ``make bench``). It prints a
header line (machine, Python, date), then one line per figure with its target:

a. a login on the production Argon2id hasher against argon2-cffi's bare ``verify`` of
   the same hash: what the use case adds to the hash must stay within 2 %;
b. classic step 1 (``identify_establishment``) in memory: calls per second, and the
   cost of a call with 100,000 enrolled establishments against 1,000;
c. the sweep (T1) with the same 1,000 due accounts among 200,000 against 10,000.

Timings use ``time.perf_counter``; the two sides of a ratio are interleaved so that
drift on a shared machine hits both, and each figure keeps the best (or the median of
the paired ratios) of several repeats. Populations are inserted straight into the
in-memory database through one unit of work, not through the (slow, hashing) use cases.
The exit status is 1 when a figure misses its target.
"""

from __future__ import annotations

import gc
import os
import platform as machine
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import argon2
from stdnum import luhn

from peps_onboarding import (
    Account,
    AccountState,
    Argon2PasswordHasher,
    Civility,
    Contract,
    ContractNumber,
    EmailAddress,
    Enrolment,
    EnrolmentPath,
    EnrolmentState,
    Establishment,
    EstablishmentAlreadyEnrolled,
    EstablishmentIdentification,
    EstablishmentNotEnrolled,
    FakeClock,
    FixedPhone,
    Holder,
    Identifier,
    InMemoryDatabase,
    InMemoryDirectory,
    LegalCategory,
    PersonName,
    Platform,
    PostalAddress,
    PostalCode,
    Profile,
    SeededRandomSource,
    Siret,
    TextLine,
    build_in_memory,
)
from peps_onboarding.testing import PASSWORD, START, Journey
from peps_onboarding.testing.samples import sample_directory

SECRET = b"bench-secret-bench-secret-bench-"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FAR = NOW + timedelta(days=400)

LOGIN_PAIRS = 24
LOGIN_RATIO_TARGET = 1.02
IDENTIFY_SIZES = (1_000, 100_000)
IDENTIFY_NOT_ENROLLED = 1_000
IDENTIFY_QUERIES = 2_000
IDENTIFY_ROUNDS = 9
IDENTIFY_OPS_TARGET = 50_000
SWEEP_SIZES = (10_000, 200_000)
SWEEP_DUE = 1_000
SWEEP_ROUNDS = 5
SCALING_TARGET = 1.5


# --- populations ----------------------------------------------------------------------


def make_sirets(count: int, *, start: int = 0) -> list[Siret]:
    """Distinct valid SIRETs (E1): a Luhn-keyed SIREN, then a Luhn key on all 14 digits."""
    sirets = []
    for n in range(start, start + count):
        body = f"2{n:07d}"  # never La Poste's 356000000
        siren = body + str(luhn.calc_check_digit(body))
        head = siren + "0001"
        sirets.append(Siret(head + str(luhn.calc_check_digit(head))))
    return sirets


def make_holder() -> Holder:
    address = PostalAddress(
        street=TextLine.parse("1 place de la Mairie"),
        postal_code=PostalCode.parse("33160"),
        city=TextLine.parse("Saint-Aubin"),
    )
    return Holder(
        civility=Civility.MRS,
        last_name=PersonName.parse("Dupont"),
        first_name=PersonName.parse("Jeanne"),
        email=EmailAddress.parse("jeanne.dupont@mairie.example"),
        phone=FixedPhone.parse("05 56 11 41 23"),
        service_function=TextLine.parse("Ressources humaines"),
        address=address,
    )


HOLDER = make_holder()


def make_account(number: int, siret: Siret, expires_at: datetime) -> Account:
    """An active administrator, as the use cases leave one after day J (C8)."""
    return Account(
        identifier=Identifier.build("BEN", number),
        siret=siret,
        profile=Profile.ADMINISTRATOR,
        state=AccountState.ACTIVE,
        holder=HOLDER,
        net_entreprises=False,
        created_at=NOW - timedelta(days=30),
        password_hash="$argon2id$not-used-here",
        expires_at=expires_at,
        last_login_at=NOW - timedelta(days=1),
    )


def establishment(siret: Siret, index: int) -> tuple[Establishment, Contract]:
    found = Establishment(
        siret=siret, designation=f"Commune n° {index}", legal_category=LegalCategory("7210")
    )
    contract = Contract(number=ContractNumber(f"FM{index:07d}"), fund="FMIS", siret=siret)
    return found, contract


def enrolled(database: InMemoryDatabase, accounts: Sequence[Account]) -> None:
    """Inserts an ENROLLED enrolment and its administrator per account, in one commit."""
    with database.unit_of_work() as uow:
        for account in accounts:
            uow.enrolments.add(
                Enrolment(
                    siret=account.siret,
                    state=EnrolmentState.ENROLLED,
                    path=EnrolmentPath.CLASSIC,
                    applicant=account.identifier,
                    submitted_at=NOW - timedelta(days=30),
                    access_from=NOW - timedelta(days=22),
                    enrolled_at=NOW - timedelta(days=22),
                )
            )
            uow.accounts.add(account)
        uow.commit()


def elapsed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- a. login on Argon2id -------------------------------------------------------------


def login_figure() -> str:
    """Rule A4 on the production hasher: the use case around one Argon2id verify."""
    clock = FakeClock(START)
    world = build_in_memory(
        clock=clock,
        hasher=Argon2PasswordHasher(),
        random=SeededRandomSource(7),
        directory=sample_directory(),
        secret=SECRET,
    )
    identifier = Journey(world, clock).enrolled_administrator()
    stored = world.database.accounts[Identifier.parse(identifier)].password_hash
    assert stored is not None
    password_hash = stored
    bare = argon2.PasswordHasher()

    def login() -> None:
        world.platform.login(identifier, PASSWORD)

    def verify() -> None:
        bare.verify(password_hash, PASSWORD)

    login()
    verify()  # warm both paths
    ratios, logins, verifies = [], [], []
    for pair in range(LOGIN_PAIRS):
        # A B, then B A: order effects cancel as well as drift.
        if pair % 2:
            v = elapsed(verify)
            t = elapsed(login)
        else:
            t = elapsed(login)
            v = elapsed(verify)
        logins.append(t)
        verifies.append(v)
        ratios.append(t / v)
    ratio = statistics.median(ratios)
    return (
        f"a. login (Argon2id defaults) / raw argon2 verify: ratio {ratio:.3f} "
        f"(median of {LOGIN_PAIRS} interleaved pairs; login {statistics.median(logins) * 1e3:.1f}"
        f" ms, verify {statistics.median(verifies) * 1e3:.1f} ms; best-of ratio "
        f"{min(logins) / min(verifies):.3f}) target <= {LOGIN_RATIO_TARGET} "
        f"{verdict(ratio <= LOGIN_RATIO_TARGET)}"
    )


# --- b. classic step 1 ----------------------------------------------------------------


def identify_world(size: int) -> tuple[Platform, list[EstablishmentIdentification]]:
    """``size`` enrolled establishments and 1,000 more not enrolled; a mixed query list."""
    world = build_in_memory(clock=FakeClock(NOW), random=SeededRandomSource(1), secret=SECRET)
    directory: InMemoryDirectory = world.directory
    sirets = make_sirets(size + IDENTIFY_NOT_ENROLLED)
    contracts = []
    for index, siret in enumerate(sirets):
        found, contract = establishment(siret, index)
        directory.add(found, contracts=(contract,))
        contracts.append(contract)
    enrolled(
        world.database,
        [make_account(n + 1, siret, FAR) for n, siret in enumerate(sirets[:size])],
    )
    half = IDENTIFY_QUERIES // 2
    picks = [contracts[i * size // half] for i in range(half)]  # spread over the enrolled
    picks += [contracts[size + i * IDENTIFY_NOT_ENROLLED // half] for i in range(half)]
    random.Random(size).shuffle(picks)
    queries = [
        EstablishmentIdentification(
            siret=c.siret.value, contract_number=c.number.value, captcha_response="trombone"
        )
        for c in picks
    ]
    outcomes = [world.platform.identify_establishment(q) for q in queries]
    assert sum(isinstance(o, EstablishmentAlreadyEnrolled) for o in outcomes) == half
    assert sum(isinstance(o, EstablishmentNotEnrolled) for o in outcomes) == half
    return world.platform, queries


def identify_figures() -> list[str]:
    """Rules C1, C2, E2 in memory: throughput, and cost per call as the directory grows."""
    worlds = [identify_world(size) for size in IDENTIFY_SIZES]
    gc.collect()
    best = [float("inf")] * len(worlds)
    for _ in range(IDENTIFY_ROUNDS):
        for index, (platform, queries) in enumerate(worlds):

            def run(
                platform: Platform = platform,
                queries: Sequence[EstablishmentIdentification] = queries,
            ) -> None:
                for query in queries:
                    platform.identify_establishment(query)

            best[index] = min(best[index], elapsed(run) / len(queries))
    small, large = best
    ops = [1 / b for b in best]
    ratio = large / small
    return [
        f"b. identify_establishment in memory: {ops[0]:,.0f} ops/s with "
        f"{IDENTIFY_SIZES[0]:,} enrolled, {ops[1]:,.0f} ops/s with {IDENTIFY_SIZES[1]:,} "
        f"(best of {IDENTIFY_ROUNDS} x {IDENTIFY_QUERIES:,} calls, half enrolled) "
        f"target >= {IDENTIFY_OPS_TARGET:,}/s {verdict(min(ops) >= IDENTIFY_OPS_TARGET)}",
        f"b. identify_establishment per call {IDENTIFY_SIZES[1]:,} / {IDENTIFY_SIZES[0]:,} "
        f"enrolled: {large * 1e6:.1f} us / {small * 1e6:.1f} us = ratio {ratio:.3f} "
        f"target <= {SCALING_TARGET} {verdict(ratio <= SCALING_TARGET)}",
    ]


# --- c. the sweep ---------------------------------------------------------------------


def sweep_once(size: int, sirets: Sequence[Siret]) -> float:
    """A fresh population of ``size`` active accounts, 1,000 of them past their expiry."""
    world = build_in_memory(clock=FakeClock(NOW), random=SeededRandomSource(2), secret=SECRET)
    step = size // SWEEP_DUE
    accounts = []
    for n in range(size):
        if n % step == 0:  # due: expired within the last three days, spread
            expires_at = NOW - timedelta(minutes=1 + (n // step) * 4)
        else:  # the rest expire over the next 18 months
            expires_at = FAR + timedelta(days=n % 540)
        accounts.append(make_account(n + 1, sirets[n], expires_at))
    with world.database.unit_of_work() as uow:
        for account in accounts:
            uow.accounts.add(account)
        uow.commit()
    del accounts
    gc.collect()  # the population is old news: time the sweep, not its garbage
    platform = world.platform
    started = time.perf_counter()
    report = platform.sweep(now=NOW)
    took = time.perf_counter() - started
    assert report.accounts_expired == SWEEP_DUE, report
    return took


def sweep_figure() -> str:
    """Rule T1: the sweep reads only what is due, however many accounts there are."""
    sirets = make_sirets(max(SWEEP_SIZES))
    times: dict[int, list[float]] = {size: [] for size in SWEEP_SIZES}
    for _ in range(SWEEP_ROUNDS):
        for size in SWEEP_SIZES:
            times[size].append(sweep_once(size, sirets))
    small, large = (min(times[size]) for size in SWEEP_SIZES)
    ratio = large / small
    return (
        f"c. sweep of {SWEEP_DUE:,} due accounts among {SWEEP_SIZES[1]:,} / {SWEEP_SIZES[0]:,}: "
        f"{large * 1e3:.1f} ms / {small * 1e3:.1f} ms = ratio {ratio:.3f} "
        f"(best of {SWEEP_ROUNDS} fresh populations) target <= {SCALING_TARGET} "
        f"{verdict(ratio <= SCALING_TARGET)}"
    )


def main() -> int:
    print(
        f"# peps_onboarding bench: {machine.platform()}, Python {machine.python_version()}, "
        f"{os.cpu_count()} CPUs, {date.today().isoformat()}",
        flush=True,
    )
    figures: list[Callable[[], list[str]]] = [
        lambda: [login_figure()],
        identify_figures,
        lambda: [sweep_figure()],
    ]
    lines: list[str] = []
    for figure in figures:
        for line in figure():
            print(line, flush=True)
            lines.append(line)
    return 0 if all(line.endswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
