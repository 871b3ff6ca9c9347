"""Real faults: a worker process killed with SIGKILL in the middle of a sweep (T1) or a
dispatch (M3), on SQLite and PostgreSQL; two dispatchers in threads over a relay slower
than a batch's lease, on both; and a mailer that fails for a while, then recovers, over
SQLite.

The killed worker is the real command, ``python -m peps_onboarding worker``, on a
database prepared with 100 registrations made through the platform with a fake clock
set in the past: at the worker's (real) clock every one of them owes an e-mail and a
letter, and every creation link has expired, so the sweep has 100 accounts to delete and
registrations to lapse (C6). The outbox ids are the idempotency keys: the folder mailer
writes ``<id>.eml`` and the letter spool ``<id>.pdf`` + ``<id>.json``, so a message
delivered just before the kill and delivered again after it rewrites the same files
(the documented at-least-once), never a second e-mail.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from stdnum import luhn

from peps_onboarding import build
from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.clock import FakeClock, SystemClock
from peps_onboarding.adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
)
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.adapters.sql.directory import SqlDirectory
from peps_onboarding.adapters.sql.directory_tables import (
    contracts,
    establishments,
    legal_representatives,
)
from peps_onboarding.adapters.sql.stores import SqlDatabase
from peps_onboarding.adapters.sql.tables import accounts, outbox
from peps_onboarding.application.commands import ClassicRegistration
from peps_onboarding.application.platform import Platform
from peps_onboarding.application.results import DispatchReport
from peps_onboarding.domain.account import AccountState
from peps_onboarding.domain.establishment import EnrolmentState
from peps_onboarding.domain.notifications import EmailMessage
from peps_onboarding.domain.policy import Policy
from peps_onboarding.domain.values import Siret
from peps_onboarding.ports import Clock, Mailer
from peps_onboarding.testing.journeys import START, holder_form, step_one_proof

REGISTRATIONS = 100  # each owes a letter, and a PDF takes ~70 ms to render here
SECRET_HEX = "5ec7e7" * 11 + "00"  # 68 hex digits: 34 bytes, as PEPS_SECRET wants
SECRET = bytes.fromhex(SECRET_HEX)
DEADLINE = 60.0  # seconds the test waits for the worker to reach the phase it kills in


# --- the population -------------------------------------------------------------------


def _siret(n: int) -> str:
    body = f"2{n:07d}"  # a Luhn-keyed SIREN, never La Poste's
    head = body + luhn.calc_check_digit(body) + "0001"
    return head + luhn.calc_check_digit(head)


def _contract(n: int) -> str:
    return f"FM{n:08d}"


def _load_directory(database: SqlDatabase, count: int) -> list[str]:
    """``count`` communes with one contract and a legal representative each, in bulk."""
    sirets = [_siret(n) for n in range(count)]
    address = {"street": "6 place des Clémens", "postal_code": "33160", "city": "Saint-Aubin"}
    with database.engine.begin() as connection:
        connection.execute(
            insert(establishments),
            [
                {
                    "siret": siret,
                    "designation": f"Commune n° {n}",
                    "legal_category": "7210",
                    "closed": False,
                    "legal_unit_ceased": False,
                    **address,
                }
                for n, siret in enumerate(sirets)
            ],
        )
        connection.execute(
            insert(contracts),
            [{"siret": s, "number": _contract(n), "fund": "FMIS"} for n, s in enumerate(sirets)],
        )
        connection.execute(
            insert(legal_representatives),
            [
                {
                    "siret": siret,
                    "civility": "Madame",
                    "last_name": "Martin",
                    "first_name": "Claire",
                    "title": "Maire",
                    **address,
                }
                for siret in sirets
            ],
        )
    return sirets


def _platform(
    database: SqlDatabase,
    clock: Clock,
    mailer: Mailer | None = None,
    *,
    policy: Policy | None = None,
) -> Platform:
    directory = SqlDirectory(database)
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=InMemoryCaptchaVerifier(),
        mailer=mailer or InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=SECRET,
        clock=clock,
        hasher=Argon2PasswordHasher.fast_for_tests(),
        random=SeededRandomSource(11),
        policy=policy,
        accept_test_email_domains=True,
    )


def _letters(n: int) -> str:
    """A name suffix without digits (names are letters): 0 → a, 26 → ba."""
    text = ""
    while True:
        n, digit = divmod(n, 26)
        text = chr(ord("a") + digit) + text
        if n == 0:
            return text


def _register(platform: Platform, sirets: Sequence[str]) -> None:
    for n, siret in enumerate(sirets):
        platform.register(
            ClassicRegistration(
                proof=step_one_proof(platform, siret, _contract(n)),
                holder=holder_form("Jeanne", f"Dupont-{_letters(n)}"),
                terms_accepted=True,
            )
        )


def _outbox_ids(database: SqlDatabase) -> dict[str, bool]:
    """Every outbox message: id -> sent."""
    with database.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.id, outbox.c.sent_at)).all()
    return {row.id: row.sent_at is not None for row in rows}


def _count(database: SqlDatabase, statement: Any) -> int:
    with database.engine.connect() as connection:
        found: int = connection.execute(statement).scalar_one()
    return found


def _deleted_accounts() -> Any:
    return (
        select(func.count())
        .select_from(accounts)
        .where(accounts.c.state == AccountState.DELETED.value)
    )


def _sent_messages() -> Any:
    return select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_not(None))


def _assert_coherent(database: SqlDatabase, sirets: Sequence[str]) -> int:
    """Each establishment is wholly before or wholly after its sweep: a pending
    registration with its pending applicant, or a lapsed one with a deleted account and
    both events. Returns how many were swept."""
    swept = 0
    with database.unit_of_work() as uow:
        for siret in map(Siret, sirets):
            enrolment = uow.enrolments.get(siret)
            members = uow.accounts.of_establishment(siret)
            kinds = [event.kind for event in uow.events.history(siret)]
            assert enrolment is not None and len(members) == 1, siret
            account = members[0]
            assert sorted(kinds[:2]) == ["account_created", "registration_submitted"], kinds
            if account.state is AccountState.PENDING_ACTIVATION:
                assert enrolment.state is EnrolmentState.PENDING, siret
                assert enrolment.applicant == account.identifier, siret
                assert "account_deleted" not in kinds and "registration_lapsed" not in kinds
            else:
                assert account.state is AccountState.DELETED, (siret, account.state)
                assert enrolment.state is EnrolmentState.NOT_ENROLLED, siret
                assert kinds.count("account_deleted") == kinds.count("registration_lapsed") == 1
                swept += 1
    return swept


def _assert_files_match(ids: Sequence[str], mail: Path, letters: Path) -> None:
    """Each outbox id is exactly one e-mail file or exactly one spooled letter."""
    emails = {path.stem for path in mail.glob("*.eml")}
    pdfs = {path.stem for path in letters.glob("*.pdf")}
    manifests = {path.stem for path in letters.glob("*.json")}
    assert pdfs == manifests
    assert not emails & pdfs
    assert sorted(emails | pdfs) == sorted(ids)
    assert len(emails) == len(pdfs) == REGISTRATIONS


# --- the worker process ---------------------------------------------------------------


def _environment(mail: Path, letters: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEPS_")}
    env.update(
        PEPS_SECRET=SECRET_HEX,
        PEPS_BASE_URL="https://peps.employeur.example",
        PEPS_MAIL_BACKEND="folder",
        PEPS_MAIL_FOLDER=str(mail),
        PEPS_LETTERS_BACKEND="spool",
        PEPS_LETTERS_FOLDER=str(letters),
    )
    return env


def _worker_command(url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "peps_onboarding", "worker", "--database", url, *extra]


@contextmanager
def _running_worker(url: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The looping worker as a child process; killed and reaped on the way out."""
    with log.open("wb") as errors:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            _worker_command(url, "--interval", "0.1"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    ends = time.monotonic() + DEADLINE
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the worker ended on its own ({process.returncode}):\n{log.read_text()}")
        if time.monotonic() > ends:
            pytest.fail(f"the worker did not get there in {DEADLINE} s:\n{log.read_text()}")
        time.sleep(0.01)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_sql_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each SQL dialect in turn (no schema yet)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.mark.rule("M3", "T1", "E3")
@pytest.mark.parametrize("phase", ["sweep", "dispatch"])
def test_a_worker_killed_mid_pass_loses_nothing_and_a_restart_completes_it(
    any_sql_url: str, phase: str, tmp_path: Path
) -> None:
    """SIGKILL in the middle of a sweep or a dispatch: the store stays coherent, no
    owed notification is lost, and ``worker --once`` delivers each exactly once."""
    mail, letters, log = tmp_path / "courriels", tmp_path / "courriers", tmp_path / "worker.log"
    database = SqlDatabase(any_sql_url)
    try:
        database.upgrade()
        sirets = _load_directory(database, REGISTRATIONS)
        _register(_platform(database, FakeClock(START)), sirets)
        owed = _outbox_ids(database)
        assert len(owed) == 2 * REGISTRATIONS and not any(owed.values())
    finally:
        database.dispose()
    seed = random.randrange(2**32)
    delay = random.Random(seed).uniform(0.0, 0.05 if phase == "sweep" else 0.5)
    env = _environment(mail, letters)

    watcher = SqlDatabase(any_sql_url)
    try:
        with _running_worker(any_sql_url, env, log) as process:
            if phase == "sweep":
                _wait_until(lambda: _count(watcher, _deleted_accounts()) > 0, process, log)
            else:
                _wait_until(lambda: _count(watcher, _sent_messages()) > 0, process, log)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        watcher.dispose()

    database = SqlDatabase(any_sql_url)  # a new process would see just this
    try:
        after_kill = _outbox_ids(database)
        assert after_kill.keys() == owed.keys(), "an owed notification was lost"
        swept = _assert_coherent(database, sirets)
        sent = sum(after_kill.values())
        where = f"(seed {seed}, delay {delay:.3f} s, swept {swept}, sent {sent})"
        if phase == "sweep":
            assert 0 < swept < REGISTRATIONS and sent == 0, f"not killed mid-sweep {where}"
        else:
            assert swept == REGISTRATIONS and 0 < sent < len(owed), f"not mid-dispatch {where}"
        # What is marked sent was delivered first (M3: deliver, then mark).
        delivered = {p.stem for p in mail.glob("*.eml")} | {p.stem for p in letters.glob("*.json")}
        assert {i for i, done in after_kill.items() if done} <= delivered, where
        # The dead worker's claims hold for the lease (5 minutes): let them run out, as
        # waiting would, rather than wait.
        with database.engine.begin() as connection:
            connection.execute(
                update(outbox).where(outbox.c.sent_at.is_(None)).values(claimed_until=None)
            )
    finally:
        database.dispose()

    again = subprocess.run(  # noqa: S603
        _worker_command(any_sql_url, "--once"),
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr.decode()

    database = SqlDatabase(any_sql_url)
    try:
        final = _outbox_ids(database)
        assert final.keys() == owed.keys() and all(final.values()), "something is still owed"
        assert _assert_coherent(database, sirets) == REGISTRATIONS
        with database.unit_of_work() as uow:
            assert uow.outbox.pending_count() == 0
    finally:
        database.dispose()
    _assert_files_match(list(owed), mail, letters)


# --- a mailer outage over SQLite ------------------------------------------------------


class _CountingMailer:
    """Passes each e-mail to an :class:`InMemoryMailer` and records every send that
    went through, duplicates included (the memory mailer itself drops duplicates)."""

    def __init__(self, inner: InMemoryMailer) -> None:
        self.inner = inner
        self.delivered: list[str] = []

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        self.delivered.append(message.message_id)


@pytest.mark.rule("M3")
def test_every_owed_email_arrives_once_when_the_mailer_recovers_from_an_outage(
    sqlite_database: SqlDatabase,
) -> None:
    """The mailer refuses 45 sends, then recovers: over the retries (backoff), each of
    the 30 owed e-mails is delivered exactly once and none is lost on the way."""
    registrations = 30
    clock = FakeClock(START)
    inner = InMemoryMailer()
    mailer = _CountingMailer(inner)
    platform = _platform(sqlite_database, clock, mailer)
    sirets = _load_directory(sqlite_database, registrations)
    _register(platform, sirets)
    owed = _outbox_ids(sqlite_database)
    assert len(owed) == 2 * registrations
    inner.fail_next(45)
    failures = 0
    for _ in range(10):
        report = platform.dispatch_notifications(limit=20)
        failures += report.failed
        now = _outbox_ids(sqlite_database)
        assert now.keys() == owed.keys()  # nothing lost, whatever fails
        assert report.pending == sum(not sent for sent in now.values())
        if report.pending == 0:
            break
        clock.advance(timedelta(hours=6))  # past every backoff reached here
    assert failures == 45
    assert all(_outbox_ids(sqlite_database).values())
    assert len(mailer.delivered) == len(set(mailer.delivered)) == registrations
    assert {m.message_id for m in inner.sent} == set(mailer.delivered)
    assert _count(sqlite_database, _sent_messages()) == 2 * registrations


# --- two dispatchers and a slow relay, on real threads and real time -----------------


class _SlowMailer(_CountingMailer):
    """Takes ``delay`` seconds (real time) to send each e-mail, as a slow relay does."""

    def __init__(self, inner: InMemoryMailer, delay: float) -> None:
        super().__init__(inner)
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        time.sleep(self.delay)
        with self._lock:
            super().send(message)


@pytest.mark.rule("M3")
def test_two_dispatchers_over_a_relay_slower_than_a_batch_lease_send_each_email_once(
    any_sql_url: str,
) -> None:
    """Eight e-mails at 0.2 s each take 1.6 s, past a 1 s lease: two dispatchers running
    at once on real threads still send each one exactly once, since each delivery is
    claimed alone (a batch claimed at once would have lapsed half-way and been retaken)."""
    registrations, delay, lease = 8, 0.2, timedelta(seconds=1)
    database = SqlDatabase(any_sql_url)
    try:
        database.upgrade()
        sirets = _load_directory(database, registrations)
        _register(_platform(database, SystemClock()), sirets)
        mailer = _SlowMailer(InMemoryMailer(), delay)
        policy = Policy(notification_claim_lease=lease)
        dispatchers = [_platform(database, SystemClock(), mailer, policy=policy) for _ in "ab"]
        start = threading.Barrier(len(dispatchers), timeout=30)
        reports: list[DispatchReport] = []

        def dispatch(platform: Platform) -> None:
            start.wait()
            reports.append(platform.dispatch_notifications(limit=100))

        threads = [threading.Thread(target=dispatch, args=(p,)) for p in dispatchers]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - began
        assert not any(thread.is_alive() for thread in threads)
        assert len(mailer.delivered) == len(set(mailer.delivered)) == registrations
        assert all(report.sent > 0 for report in reports), reports  # they shared the work
        assert sum(report.sent for report in reports) == 2 * registrations  # letters too
        assert elapsed < registrations * delay + 10  # shared, not one after the other twice
        assert all(_outbox_ids(database).values())
    finally:
        database.dispose()
