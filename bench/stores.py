"""Benchmarks of the durable stores, each figure a ratio against a baseline of the same run.

Run from the project's root: ``python bench/stores.py`` (``--quick``: the import on
100,000 rows instead of 1,000,000). It prints a header line (machine, Python, CPUs,
date), then one line per figure with its target and PASS or FAIL:

a. classic step 1 (``Platform.identify_establishment``) on a SQLite file holding
   100,000 establishments, half of them enrolled with one administrator each, against
   the same lookup written with the standard library's ``sqlite3`` on one connection:
   the same statements (contract by (SIRET, number), establishment by SIRET, enrolment
   by SIRET, and for an enrolled establishment its accounts and their rights, which the
   use case reads to name the administrators), checked to give the same answers. The
   ratio must stay ≤ 3, and the use case must reach 5,000 calls per second.
b. the import (``import_directory``) of a generated 1,000,000-row directory CSV into a
   SQLite file against a raw ``csv.reader`` + ``sqlite3.executemany`` of the same rows,
   with the same upsert statements, the same batches and the same SQLite settings
   (``SqlDatabase``'s: WAL, ``synchronous=FULL``, foreign keys on). The raw side trusts
   its input; the import parses every value through the domain (E1, E2, M2): ratio ≤ 2.
c. registrations (``Platform.register``, fast test hasher) per second on PostgreSQL with
   4 worker processes against 1, each process registering establishments of its own,
   on a throwaway cluster this script starts (``initdb``/``pg_ctl``, as
   ``tests/sql/conftest.py`` does) with PostgreSQL's durable defaults (``fsync`` and
   ``synchronous_commit`` on, as in production): ≥ 2.5× with 4.

Timings use ``time.perf_counter``; the two sides of a ratio are interleaved so that
drift on a shared machine hits both, and each figure keeps the best of several repeats
(and, for a, the median of the paired ratios). Populations are inserted straight into
the tables in bulk, not through the (hashing) use cases. The exit status is 1 when a
figure misses its target.
"""

from __future__ import annotations

import argparse
import csv
import gc
import multiprocessing
import multiprocessing.synchronize
import os
import platform as machine
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from stdnum import luhn

from peps_onboarding import (
    Account,
    AccountState,
    Argon2PasswordHasher,
    Civility,
    ClassicRegistration,
    EmailAddress,
    Enrolment,
    EnrolmentPath,
    EnrolmentState,
    EstablishmentAlreadyEnrolled,
    EstablishmentIdentification,
    FakeClock,
    FixedPhone,
    Holder,
    Identifier,
    InMemoryCaptchaVerifier,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    PersonName,
    Platform,
    PostalAddress,
    PostalCode,
    Profile,
    Siret,
    TextLine,
    build,
)
from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_import import (
    BATCH_SIZE,
    COLUMNS,
    _Upsert,
    import_directory,
)
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.stores import (
    SqlDatabase,
    _account_values,
    _enrolment_values,
)
from peps_onboarding.adapters.sql.tables import accounts, enrolments
from peps_onboarding.testing.journeys import holder_form
from peps_onboarding.testing.postgres import throwaway_cluster

SECRET = b"x" * 32
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FAR = NOW + timedelta(days=400)

IDENTIFY_ESTABLISHMENTS = 100_000
IDENTIFY_QUERIES = 2_000
IDENTIFY_ROUNDS = 7
IDENTIFY_RATIO_TARGET = 3.0
IDENTIFY_OPS_TARGET = 5_000

IMPORT_ROWS = 1_000_000
IMPORT_ROWS_QUICK = 100_000
IMPORT_ROUNDS = 2
IMPORT_ROUNDS_QUICK = 3
IMPORT_RATIO_TARGET = 2.0

REGISTER_PROCESSES = (1, 4)
REGISTER_PER_PROCESS = 250
REGISTER_ROUNDS = 3
REGISTER_SCALING_TARGET = 2.5


# --- helpers --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def make_siret(n: int) -> str:
    """A distinct valid SIRET (E1): a Luhn-keyed SIREN, then a Luhn key on all 14 digits."""
    body = f"2{n:07d}"  # never La Poste's 356000000
    siren = body + luhn.calc_check_digit(body)
    head = siren + f"{n % 10_000:04d}"
    return head + luhn.calc_check_digit(head)


def directory_rows(
    count: int, *, start: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Establishments (communes, 7210), one FMIS contract each, a legal representative."""
    found, held, represented = [], [], []
    for n in range(start, start + count):
        siret = make_siret(n)
        address = {
            "street": f"{n % 300 + 1} place de la Mairie",
            "postal_code": f"{1000 + n % 95_000:05d}"[:5],
            "city": f"Ville {n % 5000}",
            "address_complement": None,
            "identification_complement": None,
            "locality": None,
        }
        found.append(
            {
                "siret": siret,
                "designation": f"Commune n° {n}",
                "legal_category": "7210",
                "closed": False,
                "legal_unit_ceased": False,
                **address,
            }
        )
        held.append({"siret": siret, "number": contract_number(n), "fund": "FMIS"})
        represented.append(
            {
                "siret": siret,
                "civility": "Madame",
                "last_name": "Martin",
                "first_name": "Claire",
                "title": "Maire",
                **address,
            }
        )
    return found, held, represented


def contract_number(n: int) -> str:
    return f"FM{n:08d}"


def load_directory(engine: Engine, count: int) -> None:
    """The directory tables, in bulk (one executemany per table and batch)."""
    step = 20_000
    for start in range(0, count, step):
        found, held, represented = directory_rows(min(step, count - start), start=start)
        with engine.begin() as connection:
            connection.execute(insert(establishments), found)
            connection.execute(insert(contracts), held)
            connection.execute(insert(legal_representatives), represented)


def make_account(number: int, siret: str) -> Account:
    """An active administrator, as the use cases leave one after day J (C8)."""
    return Account(
        identifier=Identifier.build("BEN", number),
        siret=Siret(siret),
        profile=Profile.ADMINISTRATOR,
        state=AccountState.ACTIVE,
        holder=HOLDER,
        net_entreprises=False,
        created_at=NOW - timedelta(days=30),
        password_hash="$argon2id$not-used-here",
        expires_at=FAR,
        last_login_at=NOW - timedelta(days=1),
    )


HOLDER = Holder(
    civility=Civility.MRS,
    last_name=PersonName.parse("Dupont"),
    first_name=PersonName.parse("Jeanne"),
    email=EmailAddress.parse("jeanne.dupont@mairie.example"),
    phone=FixedPhone.parse("05 56 11 41 23"),
    service_function=TextLine.parse("Ressources humaines"),
    address=PostalAddress(
        street=TextLine.parse("1 place de la Mairie"),
        postal_code=PostalCode.parse("33160"),
        city=TextLine.parse("Saint-Aubin"),
    ),
)


def enrol_in_bulk(engine: Engine, sirets: Sequence[str]) -> None:
    """An ENROLLED enrolment and its administrator per SIRET, written in bulk."""
    rows_e, rows_a = [], []
    for n, siret in enumerate(sirets, start=1):
        account = make_account(n, siret)
        enrolment = Enrolment(
            siret=Siret(siret),
            state=EnrolmentState.ENROLLED,
            path=EnrolmentPath.CLASSIC,
            applicant=account.identifier,
            submitted_at=NOW - timedelta(days=30),
            access_from=NOW - timedelta(days=22),
            enrolled_at=NOW - timedelta(days=22),
        )
        rows_e.append({**_enrolment_values(enrolment), "version": 1})
        rows_a.append({**_account_values(account), "version": 1, "seq": n})
    with engine.begin() as connection:
        connection.execute(insert(enrolments), rows_e)
        connection.execute(insert(accounts), rows_a)


def sqlite_file_platform(database: SqlDatabase) -> Platform:
    directory = SqlDirectory(database)
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=InMemoryCaptchaVerifier(),
        mailer=InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=SECRET,
        clock=FakeClock(NOW),
        hasher=Argon2PasswordHasher.fast_for_tests(),
        accept_test_email_domains=True,
    )


# --- a. classic step 1 on SQLite ------------------------------------------------------

# What the use case runs, written by hand for the standard library's driver.
_RAW_CONTRACT = "SELECT fund FROM directory_contracts WHERE siret = ? AND number = ?"
_RAW_ESTABLISHMENT = (
    "SELECT designation, legal_category, closed, legal_unit_ceased, street, postal_code, "
    "city, address_complement, identification_complement, locality "
    "FROM directory_establishments WHERE siret = ?"
)
_RAW_ENROLMENT = "SELECT * FROM enrolments WHERE siret = ?"
_RAW_ACCOUNTS = "SELECT * FROM accounts WHERE siret = ? ORDER BY seq"
_RAW_RIGHTS = (
    "SELECT identifier, service, level FROM rights WHERE identifier IN ({}) "
    "ORDER BY identifier, position"
)

Outcome = tuple[str, str, tuple[str, ...]]  # designation, state, administrators


def raw_identify(connection: sqlite3.Connection, siret: str, number: str) -> Outcome:
    """The same lookup as ``identify_establishment``, on one ``sqlite3`` connection."""
    if connection.execute(_RAW_CONTRACT, (siret, number)).fetchone() is None:
        raise LookupError(siret)
    found = connection.execute(_RAW_ESTABLISHMENT, (siret,)).fetchone()
    if found is None:
        raise LookupError(siret)
    enrolment = connection.execute(_RAW_ENROLMENT, (siret,)).fetchone()
    state = enrolment["state"] if enrolment is not None else "not_enrolled"
    names: tuple[str, ...] = ()
    if state == "enrolled":
        rows = connection.execute(_RAW_ACCOUNTS, (siret,)).fetchall()
        identifiers = [row["identifier"] for row in rows]
        marks = ",".join("?" * len(identifiers))
        connection.execute(_RAW_RIGHTS.format(marks), identifiers).fetchall()
        names = tuple(
            f"{row['first_name']} {row['last_name']}"
            for row in rows
            if row["profile"] == "administrator"
        )
    return found["designation"], state, names


def platform_outcome(platform: Platform, query: EstablishmentIdentification) -> Outcome:
    result = platform.identify_establishment(query)
    if isinstance(result, EstablishmentAlreadyEnrolled):
        return result.designation, "enrolled", result.administrators
    state = "pending" if type(result).__name__ == "RegistrationPending" else "not_enrolled"
    return result.designation, state, ()


def identify_figures(work: Path) -> list[str]:
    """Rules C1, C2, E2 on SQLite: the use case against the driver alone."""
    path = work / "identify.db"
    database = SqlDatabase(f"sqlite:///{path}")
    try:
        database.upgrade()
        load_directory(database.engine, IDENTIFY_ESTABLISHMENTS)
        half = IDENTIFY_ESTABLISHMENTS // 2
        enrol_in_bulk(database.engine, [make_siret(n) for n in range(half)])
        platform = sqlite_file_platform(database)
        picks = [i * half // (IDENTIFY_QUERIES // 2) for i in range(IDENTIFY_QUERIES // 2)]
        picks += [half + i for i in picks]  # as many not enrolled
        random.Random(1).shuffle(picks)
        queries = [
            EstablishmentIdentification(
                siret=make_siret(n), contract_number=contract_number(n), captcha_response="trombone"
            )
            for n in picks
        ]
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            raw.row_factory = sqlite3.Row
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA busy_timeout=30000")
            ours = [platform_outcome(platform, q) for q in queries]
            theirs = [raw_identify(raw, q.siret, q.contract_number) for q in queries]
            assert ours == theirs, "the two sides disagree"
            assert sum(o[1] == "enrolled" for o in ours) == IDENTIFY_QUERIES // 2
            assert all(o[2] == ("Jeanne Dupont",) for o in ours if o[1] == "enrolled")

            def run_platform() -> None:
                for query in queries:
                    platform.identify_establishment(query)

            def run_raw() -> None:
                for query in queries:
                    raw_identify(raw, query.siret, query.contract_number)

            gc.collect()
            ours_t, raw_t, ratios = [], [], []
            for round_ in range(IDENTIFY_ROUNDS):
                first, second = (run_platform, run_raw) if round_ % 2 else (run_raw, run_platform)
                times = {}
                for side in (first, second):
                    started = time.perf_counter()
                    side()
                    times[side] = time.perf_counter() - started
                ours_t.append(times[run_platform])
                raw_t.append(times[run_raw])
                ratios.append(times[run_platform] / times[run_raw])
        finally:
            raw.close()
    finally:
        database.dispose()
    ops = IDENTIFY_QUERIES / min(ours_t)
    raw_ops = IDENTIFY_QUERIES / min(raw_t)
    ratio = statistics.median(ratios)
    return [
        f"a. identify_establishment on SQLite, {IDENTIFY_ESTABLISHMENTS:,} establishments "
        f"(half enrolled) / raw sqlite3, same queries: ratio {ratio:.2f} (median of "
        f"{IDENTIFY_ROUNDS} interleaved pairs x {IDENTIFY_QUERIES:,} calls; best-of ratio "
        f"{min(ours_t) / min(raw_t):.2f}) target <= {IDENTIFY_RATIO_TARGET:g} "
        f"{verdict(ratio <= IDENTIFY_RATIO_TARGET)}",
        f"a. identify_establishment on SQLite: {ops:,.0f} ops/s (raw sqlite3 {raw_ops:,.0f} "
        f"ops/s; best of {IDENTIFY_ROUNDS}) target >= {IDENTIFY_OPS_TARGET:,}/s "
        f"{verdict(ops >= IDENTIFY_OPS_TARGET)}",
    ]


# --- b. directory import --------------------------------------------------------------

_LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
_FIRST = ["Claire", "Paul", "Sophie", "Jean-Luc", "Anne", "Éric", "Nathalie", "Olivier"]
_KINDS = [("Commune de", "7210"), ("Centre hospitalier de", "7364"), ("CCAS de", "7361")]
_FUNDS = ["FMIS", "CNRACL"]


def write_directory_csv(path: Path, rows: int) -> None:
    """A realistic file: a quarter of the establishments hold two contracts."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        written = n = 0
        while written < rows:
            siret = make_siret(n)
            kind, category = _KINDS[n % len(_KINDS)]
            city = f"Ville {n % 5000}"
            postal_code = f"{1000 + n % 5000 * 19 % 95_000:05d}"
            street = f"{n % 300 + 1} rue des Tilleuls {n % 977}"
            for k in range(1 if n % 4 else 2):
                if written >= rows:
                    break
                writer.writerow(
                    [
                        siret,
                        f"{kind} {city} {n}",
                        category,
                        "F" if n % 50 == 0 else "A",
                        "non",
                        f"{_FUNDS[k][:2]}{n:08d}",
                        _FUNDS[k],
                        street,
                        postal_code,
                        city,
                        "",
                        "",
                        "",
                        "Madame" if n % 2 else "Monsieur",
                        _LAST[n % len(_LAST)],
                        _FIRST[n % len(_FIRST)],
                        "Maire",
                        street,
                        postal_code,
                        city,
                    ]
                )
                written += 1
            n += 1


def fresh_sqlite(path: Path) -> SqlDatabase:
    for stale in path.parent.glob(f"{path.name}*"):
        stale.unlink()
    database = SqlDatabase(f"sqlite:///{path}")
    database.upgrade()
    return database


def raw_import(path: Path, source: Path, statements: Sequence[str]) -> int:
    """``csv.reader`` + ``executemany`` of the same upserts, batches and settings."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL"):
            connection.execute(f"PRAGMA {pragma}")
        found: dict[str, tuple[Any, ...]] = {}
        held: dict[str, tuple[Any, ...]] = {}
        represented: dict[str, tuple[Any, ...]] = {}

        def flush() -> None:
            connection.execute("BEGIN")
            connection.executemany(statements[0], list(found.values()))
            connection.executemany(statements[1], list(held.values()))
            connection.executemany(statements[2], list(represented.values()))
            connection.execute("COMMIT")
            found.clear()
            held.clear()
            represented.clear()

        rows = 0
        with source.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream, delimiter=";")
            next(reader)
            for row in reader:
                siret = row[0]
                found[siret] = (siret, *row[1:3], row[3] == "F", row[4] == "oui", *row[7:10])
                found[siret] += (None, None, None)
                held[row[5]] = (siret, row[5], row[6])
                represented[siret] = (siret, *row[13:17], *row[17:20], None, None, None)
                rows += 1
                if rows % BATCH_SIZE == 0:
                    flush()
        flush()
        return rows
    finally:
        connection.close()


def table_counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (establishments, contracts, legal_representatives)
        )


def import_figure(work: Path, rows: int, rounds: int) -> str:
    """The directory import (E1, E2, M2) against the driver alone, on the same file."""
    source = work / "annuaire.csv"
    write_directory_csv(source, rows)
    ours_t, raw_t = [], []
    counts: set[tuple[int, ...]] = set()
    for round_ in range(rounds):
        for side in ("raw", "ours") if round_ % 2 == 0 else ("ours", "raw"):
            database = fresh_sqlite(work / f"import-{side}.db")
            try:
                gc.collect()
                if side == "raw":
                    statements = [
                        _Upsert.build(database.engine, table, key).sql
                        for table, key in (
                            (establishments, ("siret",)),
                            (contracts, ("number",)),
                            (legal_representatives, ("siret",)),
                        )
                    ]
                    started = time.perf_counter()
                    assert raw_import(work / f"import-{side}.db", source, statements) == rows
                    raw_t.append(time.perf_counter() - started)
                else:
                    started = time.perf_counter()
                    report = import_directory(database.engine, source, progress=False)
                    ours_t.append(time.perf_counter() - started)
                    assert report.rows_imported == rows and report.rows_rejected == 0, report
                counts.add(table_counts(database.engine))
            finally:
                database.dispose()
    assert len(counts) == 1, f"the two sides loaded different rows: {counts}"
    ours, raw = min(ours_t), min(raw_t)
    ratio = ours / raw
    return (
        f"b. directory import of {rows:,} CSV rows into SQLite / raw executemany: "
        f"{ours:.2f} s / {raw:.2f} s = ratio {ratio:.2f} ({rows / ours:,.0f} vs "
        f"{rows / raw:,.0f} rows/s; best of {rounds} interleaved) target <= "
        f"{IMPORT_RATIO_TARGET:g} {verdict(ratio <= IMPORT_RATIO_TARGET)}"
    )


# --- c. registrations on PostgreSQL, 1 vs 4 processes ---------------------------------


@contextmanager
def postgresql_cluster() -> Iterator[str]:
    """A throwaway cluster with PostgreSQL's durable defaults; yields a database URL."""
    with throwaway_cluster(durable=True, max_connections=100) as port:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


_NAMES = ["Dupont", "Martin", "Bernard", "Lefèvre", "Garcia", "Roux", "Fournier", "Morel"]
_FIRSTS = ["Jeanne", "Paul", "Sophie", "Luc", "Anne", "Éric", "Nora", "Yves"]


def registration(platform: Platform, n: int) -> ClassicRegistration:
    """Steps 2 and 3 for establishment ``n``, its step 1 passed beforehand (untimed)."""
    holder = holder_form(_FIRSTS[n % len(_FIRSTS)], _NAMES[n // len(_FIRSTS) % len(_NAMES)])
    step_one = platform.identify_establishment(
        EstablishmentIdentification(
            siret=make_siret(n), contract_number=contract_number(n), captcha_response="trombone"
        )
    )
    return ClassicRegistration(proof=step_one.proof, holder=holder, terms_accepted=True)


def register_worker(
    url: str,
    warm_up: int,
    numbers: Sequence[int],
    start: multiprocessing.synchronize.Event,
    results: multiprocessing.Queue[tuple[str, float, float]],
) -> None:
    """One worker process: its own engine and platform; registers its establishments."""
    database = SqlDatabase(url)
    try:
        directory = SqlDirectory(database)
        platform = build(
            unit_of_work=database.unit_of_work,
            registry=directory,
            contracts=directory,
            net_entreprises=InMemoryNetEntreprisesVerifier(),
            captcha=InMemoryCaptchaVerifier(),
            mailer=InMemoryMailer(),
            letters=InMemoryLetterSender(),
            secret=SECRET,
            hasher=Argon2PasswordHasher.fast_for_tests(),
            accept_test_email_domains=True,
        )
        commands = [registration(platform, n) for n in numbers]
        platform.register(registration(platform, warm_up))  # connections and caches warm
        results.put(("ready", 0.0, 0.0))
        if not start.wait(timeout=120):
            raise TimeoutError("never started")
        began = time.perf_counter()
        for command in commands:
            platform.register(command)
        results.put(("done", began, time.perf_counter()))
    except BaseException as error:
        results.put((f"crashed: {error!r}", 0.0, 0.0))
    finally:
        database.dispose()


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from ``/proc/stat`` (0, 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    values = [float(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def registrations_round(url: str, processes: int, first: int) -> tuple[float, float, float]:
    """Registrations per second with ``processes`` workers (numbers from ``first`` on),
    the share of the machine's CPU time that was busy meanwhile, and the machine's busy
    CPU seconds per registration (clients and server together)."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results: multiprocessing.Queue[tuple[str, float, float]] = context.Queue()
    per = REGISTER_PER_PROCESS
    workers = []
    for p in range(processes):
        base = first + p * (per + 1)
        worker = context.Process(
            target=register_worker,
            args=(url, base, list(range(base + 1, base + 1 + per)), start, results),
        )
        worker.start()
        workers.append(worker)
    try:
        for _ in range(processes):
            status, _, _ = results.get(timeout=120)
            if status != "ready":
                raise RuntimeError(status)
        busy_before, total_before = cpu_times()
        start.set()
        spans = []
        for _ in range(processes):
            status, began, ended = results.get(timeout=300)
            if status != "done":
                raise RuntimeError(status)
            spans.append((began, ended))
        busy_after, total_after = cpu_times()
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join()
            worker.close()
        results.close()
        results.join_thread()
    wall = max(e for _, e in spans) - min(b for b, _ in spans)
    total = total_after - total_before
    busy = busy_after - busy_before
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (
        processes * per / wall,
        busy / total if total else 0.0,
        busy / ticks / (processes * per),
    )


def registrations_figure(work: Path) -> str:
    """Rules C4, C5, E6 on PostgreSQL: throughput with 4 processes against 1."""
    per_round = sum(REGISTER_PROCESSES) * (REGISTER_PER_PROCESS + 1)
    population = per_round * REGISTER_ROUNDS
    with postgresql_cluster() as url:
        database = SqlDatabase(url)
        try:
            database.upgrade()
            load_directory(database.engine, population)
        finally:
            database.dispose()
        rates: dict[int, list[tuple[float, float, float]]] = {p: [] for p in REGISTER_PROCESSES}
        first = 0
        for round_ in range(REGISTER_ROUNDS):
            order = REGISTER_PROCESSES if round_ % 2 == 0 else REGISTER_PROCESSES[::-1]
            for processes in order:
                rates[processes].append(registrations_round(url, processes, first))
                first += processes * (REGISTER_PER_PROCESS + 1)
        database = SqlDatabase(url)
        try:
            with database.engine.connect() as connection:
                registered = connection.execute(
                    select(func.count()).select_from(enrolments)
                ).scalar_one()
        finally:
            database.dispose()
    assert registered == population, (registered, population)
    (one, one_busy, one_cpu), (four, four_busy, four_cpu) = (
        max(rates[p]) for p in REGISTER_PROCESSES
    )
    ratio = four / one
    # Four processes can at most use every core; one process already keeps
    # ``one_busy`` of them busy (its client and the server take turns). With the same
    # CPU per registration, the ratio cannot exceed 1 / one_busy on this machine.
    ceiling = 1 / one_busy if one_busy else float("inf")
    return (
        f"c. registrations on PostgreSQL (fast hasher, fsync on): {one:,.0f}/s with 1 process "
        f"(machine CPU {one_busy:.0%} busy, {one_cpu * 1000:.2f} ms CPU per registration), "
        f"{four:,.0f}/s with 4 (CPU {four_busy:.0%} busy, {four_cpu * 1000:.2f} ms) "
        f"= {ratio:.2f}x (best of {REGISTER_ROUNDS} interleaved rounds x "
        f"{REGISTER_PER_PROCESS} per process; this machine's ceiling with {os.cpu_count()} "
        f"CPUs: {ceiling:.2f}x) target >= {REGISTER_SCALING_TARGET:g}x "
        f"{verdict(ratio >= REGISTER_SCALING_TARGET)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"import {IMPORT_ROWS_QUICK:,} CSV rows instead of {IMPORT_ROWS:,}",
    )
    parser.add_argument(
        "--only",
        choices=("a", "b", "c"),
        action="append",
        help="run only this figure (may be repeated)",
    )
    args = parser.parse_args(argv)
    print(
        f"# peps_onboarding stores bench: {machine.platform()}, Python "
        f"{machine.python_version()}, {os.cpu_count()} CPUs, {date.today().isoformat()}"
        + (" (--quick)" if args.quick else ""),
        flush=True,
    )
    rows = IMPORT_ROWS_QUICK if args.quick else IMPORT_ROWS
    rounds = IMPORT_ROUNDS_QUICK if args.quick else IMPORT_ROUNDS
    work = Path(tempfile.mkdtemp(prefix="peps-bench-stores-"))
    every: dict[str, Callable[[], list[str]]] = {
        "a": lambda: identify_figures(work),
        "b": lambda: [import_figure(work, rows, rounds)],
        "c": lambda: [registrations_figure(work)],
    }
    figures = [figure for name, figure in every.items() if not args.only or name in args.only]
    lines: list[str] = []
    try:
        for figure in figures:
            for line in figure():
                print(line, flush=True)
                lines.append(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(line.endswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
