"""A concurrency contract suite: real use cases raced through the :class:`Platform`.

Each test sets a scene once on an emptied store, walking the journeys a person would
(an enrolled establishment, its administrators, a reset link, a Net-Entreprises
ticket), keeps what the store then holds, and plays many rounds. Each round restores
the store to that scene (so no round sees what an earlier one did), releases several
calls of one use case together, and checks an invariant of the specification on the
outcomes and on what the store holds afterwards. The broken rounds are counted and the
assertion says how many and how (« broken in 3 of 50 rounds (threads): … »), so a
failure tells what was measured.

The suite is a base class whose name does not start with ``Test``: subclass it and give
it the one fixture it asks for, ``store_recipe``, a :class:`StoreRecipe` on a fresh,
migrated store of your kind::

    import pytest
    from peps_onboarding.testing.concurrency import (
        ConcurrencyContract,
        InMemoryStoreRecipe,
        SqlStoreRecipe,
        StoreRecipe,
    )


    class TestRacesInMemory(ConcurrencyContract):
        rounds = 200

        @pytest.fixture
        def store_recipe(self) -> StoreRecipe:
            return InMemoryStoreRecipe(pause=0.001)


    class TestRacesAcrossProcesses(ConcurrencyContract):
        racers_in = "processes"

        @pytest.fixture
        def store_recipe(self, migrated_postgresql_url: str) -> StoreRecipe:
            return SqlStoreRecipe(migrated_postgresql_url)

Racers are threads sharing one platform (``racers_in = "threads"``, the default), or
separate processes (``"processes"``): a pool of long-lived workers, started once per
test class with the ``spawn`` method, each building its own platform on the same store
with the same secret, the sample directory and the fake clock's instant of the round.
In each round every worker receives its call, waits on a shared barrier, makes the call
and sends back the outcome's name and how many passwords it verified. Processes need a
store they can all reach (a database URL); the in-memory store serves threads only.

A store of your own needs a recipe: ``open()`` (in any process) gives an
:class:`OpenStore`, with ``unit_of_work``, ``empty``, ``keep`` (what the store holds
now, as a call that restores exactly that) and ``close``. The recipe crosses to the
workers by pickling and is compared with ``==`` to know when a test moved to another
store: make it a frozen ``attrs`` class of plain values, as :class:`InMemoryStoreRecipe`
and :class:`SqlStoreRecipe` are.

Class settings: ``racers`` (how many calls race where the rule is about "many", default
8), ``rounds`` (default 50); the environment variable ``PEPS_RACE_ROUNDS`` replaces
``rounds`` for every store, to soak the races for longer.

Every test cites the rules it pins, in its docstring and with ``@pytest.mark.rule``;
under ``--strict-markers`` register the marker, or load this module (or
:mod:`peps_onboarding.testing.contracts`) as a plugin.

Requires the ``[testing]`` extra (pytest).
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime
from multiprocessing.connection import Connection as Pipe
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import ClassVar, Literal, Protocol, TypeVar

import pytest
from attrs import define, frozen
from sqlalchemy import Connection, MetaData, Table, TextClause, text

from ..adapters.argon2 import Argon2PasswordHasher
from ..adapters.clock import FakeClock
from ..adapters.memory import (
    InMemoryCaptchaVerifier,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
)
from ..adapters.randomness import SeededRandomSource, SystemRandomSource
from ..adapters.sql.stores import SqlDatabase
from ..application.commands import NetEntreprisesCompletion, NetEntreprisesCredentials
from ..application.platform import Platform
from ..application.results import NetEntreprisesSignedIn
from ..bootstrap import InMemoryPlatform, build
from ..domain.account import Account, AccountState
from ..domain.establishment import EnrolmentState
from ..domain.values import Identifier, PersonName, Siret
from ..ports import PasswordHasher, RandomSource, UnitOfWork
from .journeys import COMMUNE, PASSWORD, START, Journey, holder_form, net_entreprises_form
from .samples import sample_directory

__all__ = [
    "ConcurrencyContract",
    "CountingHasher",
    "InMemoryStoreRecipe",
    "OpenStore",
    "SqlStoreRecipe",
    "StoreRecipe",
    "pytest_configure",
]

_SECRET = b"concurrency-suite-secret-0000000"  # every racer signs and reads with it
_BARRIER_TIMEOUT = 30.0
_ANSWER_TIMEOUT = 120.0
_NEW_PASSWORD = "Nouveau-mot-2"
_NE_PASSWORD = "ne-password"
_NE_LAST, _NE_FIRST = "Martin", "Paul"
_ROUNDS_VARIABLE = "PEPS_RACE_ROUNDS"
_KINDS_SHOWN = 5  # the commonest kinds of broken round an assertion message describes


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``rule`` marker when this module is loaded as a pytest plugin."""
    config.addinivalue_line("markers", "rule(*ids): the spec rules (RULES.md) this test pins")


# --- what the host gives: a store, reachable from any process ---------------------------


class OpenStore(Protocol):
    """A store opened in one process: units of work on it, emptied, kept and restored."""

    def unit_of_work(self) -> UnitOfWork: ...

    def empty(self) -> None:
        """Forgets every record, schema kept."""
        ...

    def keep(self) -> Callable[[], None]:
        """What the store holds now, as a call that brings it back to exactly that: each
        round restores the scene set once, instead of walking the journeys again."""
        ...

    def close(self) -> None: ...


class StoreRecipe(Protocol):
    """How to reach the host's store, from the test process or from a spawned worker.

    Pickled to the workers and compared with ``==``: a frozen class of plain values.
    """

    def open(self) -> OpenStore: ...


@frozen(kw_only=True)
class InMemoryStoreRecipe:
    """Our in-memory store, for threads. ``pause``: the longest random sleep at the start
    of each commit (``InMemoryDatabase(interleave=…)``), so that racing use cases read
    before the others commit, as they would on a real database."""

    pause: float = 0.001

    def open(self) -> OpenStore:
        return _InMemoryStore(self.pause)


class _InMemoryStore:
    # What a restored database gets afresh rather than copied: its own lock and pause.
    _OWN = frozenset({"lock", "interleave"})

    def __init__(self, pause: float) -> None:
        self._pause = pause
        self._database = self._new()

    def _new(self) -> InMemoryDatabase:
        pause = self._pause
        return InMemoryDatabase(interleave=lambda: time.sleep(random.uniform(0, pause)))  # noqa: S311

    def unit_of_work(self) -> UnitOfWork:
        return self._database.unit_of_work()

    def empty(self) -> None:
        self._database = self._new()

    def keep(self) -> Callable[[], None]:
        # A deep copy of the committed state, whatever fields the database has (its
        # records are frozen values); each restore copies it again, so rounds share nothing.
        held = copy.deepcopy(
            {name: value for name, value in vars(self._database).items() if name not in self._OWN}
        )

        def restore() -> None:
            database = self._new()
            vars(database).update(copy.deepcopy(held))
            self._database = database

        return restore

    def close(self) -> None:
        """Nothing to release."""


@frozen
class SqlStoreRecipe:
    """Our SQL store (:class:`~peps_onboarding.adapters.sql.stores.SqlDatabase`) on a
    SQLite file or a PostgreSQL database whose schema is already migrated."""

    url: str

    def open(self) -> OpenStore:
        return _SqlStore(SqlDatabase(self.url))


class _SqlStore:
    """Rows copied as the driver gives them, through the tables the database has
    (reflected once): nothing here depends on how the adapter maps its records."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._schema: MetaData | None = None

    def unit_of_work(self) -> UnitOfWork:
        return self._database.unit_of_work()

    def _tables(self) -> list[Table]:
        """Parents first; the schema revision is not data."""
        if self._schema is None:
            self._schema = MetaData()
            self._schema.reflect(self._database.engine)
        return [t for t in self._schema.sorted_tables if t.name != "alembic_version"]

    def empty(self) -> None:
        with self._database.write() as connection:
            self._delete_all(connection)

    def _delete_all(self, connection: Connection) -> None:
        for table in reversed(self._tables()):
            connection.execute(table.delete())

    def keep(self) -> Callable[[], None]:
        quote = self._database.engine.dialect.identifier_preparer.quote
        held: list[tuple[TextClause, list[dict[str, object]]]] = []
        with self._database.write() as connection:
            for table in self._tables():
                columns = ", ".join(quote(column.name) for column in table.columns)
                binds = ", ".join(f":p{n}" for n in range(len(table.columns)))
                rows = connection.execute(text(f"SELECT {columns} FROM {quote(table.name)}"))  # noqa: S608
                values = [{f"p{n}": value for n, value in enumerate(row)} for row in rows]
                insert = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({binds})"  # noqa: S608
                held.append((text(insert), values))

        def restore() -> None:
            with self._database.write() as connection:
                self._delete_all(connection)
                for insert, values in held:
                    if values:
                        connection.execute(insert, values)

        return restore

    def close(self) -> None:
        self._database.dispose()


# --- counting password checks (A4) ------------------------------------------------------


class CountingHasher:
    """A :class:`~peps_onboarding.ports.PasswordHasher` that counts its ``verify`` calls:
    how many passwords an attacker got checked (A4). Thread-safe."""

    def __init__(self, inner: PasswordHasher) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._verifications = 0

    @property
    def verifications(self) -> int:
        with self._lock:
            return self._verifications

    def hash(self, password: str) -> str:
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self._verifications += 1
        return self._inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


# --- a platform like Journey.start's, on the host's store ------------------------------


class _HeldClock:
    """A worker's clock: the instant of the round it is racing in (it may go back)."""

    def __init__(self) -> None:
        self.instant = START

    def now(self) -> datetime:
        return self.instant


def _platform(
    uow: Callable[[], UnitOfWork],
    *,
    clock: FakeClock | _HeldClock,
    hasher: PasswordHasher,
    random_source: RandomSource,
) -> InMemoryPlatform:
    """A platform as :meth:`Journey.start` builds one (sample directory, in-memory mail,
    letters and Net-Entreprises, test e-mail domains), its state behind ``uow``."""
    directory = sample_directory()
    mailer, letters = InMemoryMailer(), InMemoryLetterSender()
    net_entreprises, captcha = InMemoryNetEntreprisesVerifier(), InMemoryCaptchaVerifier()
    platform = build(
        unit_of_work=uow,
        registry=directory,
        contracts=directory,
        net_entreprises=net_entreprises,
        captcha=captcha,
        mailer=mailer,
        letters=letters,
        secret=_SECRET,
        clock=clock,
        hasher=hasher,
        random=random_source,
        accept_test_email_domains=True,
    )
    return InMemoryPlatform(
        platform=platform,
        database=InMemoryDatabase(),  # unused: the state is behind ``uow``
        directory=directory,
        mailer=mailer,
        letters=letters,
        net_entreprises=net_entreprises,
        captcha=captcha,
    )


# --- one call, its outcome, and a race of them -----------------------------------------


@frozen
class _Call:
    """One call of a :class:`Platform` method: a value, so it can cross to a worker."""

    method: str
    arguments: tuple[object, ...]

    def on(self, platform: Platform) -> _Outcome:
        try:
            getattr(platform, self.method)(*self.arguments)
        except Exception as error:  # every outcome is reported to the test, not raised
            return _Outcome(type(error).__name__, f"{type(error).__name__}: {error}")
        return _Outcome(_SUCCESS)


_SUCCESS = "success"
_READY = "ready"


@frozen
class _Outcome:
    """How one racer's call ended: ``success`` or the exception's class name."""

    name: str
    detail: str = ""


@frozen
class _Race:
    outcomes: tuple[_Outcome, ...]
    verifications: int  # passwords verified by the racers, all of them together

    def names(self) -> list[str]:
        return [outcome.name for outcome in self.outcomes]

    def count(self, name: str) -> int:
        return self.names().count(name)

    def others(self, *allowed: str) -> list[_Outcome]:
        return [outcome for outcome in self.outcomes if outcome.name not in allowed]

    def summary(self) -> str:
        counts = Counter(self.names())
        return ", ".join(f"{name}×{n}" for name, n in sorted(counts.items()))


@define
class _Round:
    """Where the racers race: the store, restored before each round, and a platform on
    it (the threads' own) at the instant the scene was set."""

    recipe: StoreRecipe
    store: OpenStore
    platform: Platform
    hasher: CountingHasher
    at: datetime

    def accounts_of(self, siret: str) -> list[Account]:
        with self.store.unit_of_work() as uow:
            return list(uow.accounts.of_establishment(Siret.parse(siret)))

    def account(self, identifier: str) -> Account:
        with self.store.unit_of_work() as uow:
            found = uow.accounts.get(Identifier.parse(identifier))
        assert found is not None
        return found

    def enrolment_state(self, siret: str) -> EnrolmentState:
        with self.store.unit_of_work() as uow:
            enrolment = uow.enrolments.get(Siret.parse(siret))
        return enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED


class _Racers(Protocol):
    def race(self, scene: _Round, calls: Sequence[_Call]) -> _Race: ...

    def close(self) -> None: ...


class _Threads:
    """Threads on the round's own platform, released together by a barrier. The pool
    lives as long as the test class: starting threads each round costs more than the
    race itself on the in-memory store."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="peps-racer")

    def race(self, scene: _Round, calls: Sequence[_Call]) -> _Race:
        if len(calls) > self._size:
            raise ValueError(f"{len(calls)} calls for {self._size} threads")
        barrier = threading.Barrier(len(calls))
        platform = scene.platform
        before = scene.hasher.verifications

        def run(call: _Call) -> _Outcome:
            try:
                barrier.wait(timeout=_BARRIER_TIMEOUT)
            except threading.BrokenBarrierError:
                return _Outcome("BrokenBarrierError", "the racers were not released together")
            return call.on(platform)

        outcomes = tuple(self._pool.map(run, calls))
        return _Race(outcomes, scene.hasher.verifications - before)

    def close(self) -> None:
        self._pool.shutdown()


@frozen
class _Order:
    """What a worker receives each round: where, when, and its call (None: sit out)."""

    recipe: StoreRecipe
    at: datetime
    call: _Call | None


# The two below run only inside the spawned workers, where coverage does not follow
# (spawn starts a fresh interpreter); the races they serve are what the tests check.
class _Worker:  # pragma: no cover
    """A spawned worker's state: the store and platform it keeps between rounds."""

    def __init__(self) -> None:
        self.recipe: StoreRecipe | None = None
        self.store: OpenStore | None = None
        self.clock = _HeldClock()
        self.hasher = CountingHasher(Argon2PasswordHasher.fast_for_tests())
        self.platform: Platform | None = None

    def platform_for(self, recipe: StoreRecipe) -> Platform:
        if self.platform is None or recipe != self.recipe:
            self.close()
            self.store = recipe.open()
            self.recipe = recipe
            self.platform = _platform(
                self.store.unit_of_work,
                clock=self.clock,
                hasher=self.hasher,
                random_source=SystemRandomSource(),
            ).platform
        return self.platform

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = self.platform = self.recipe = None


def _serve(orders: Pipe, barrier: ProcessBarrier) -> None:  # pragma: no cover
    """A worker's loop: one order a round, until told to stop (None)."""
    worker = _Worker()
    orders.send(_READY)  # imported: the first round's barrier will not wait for imports
    try:
        while (order := orders.recv()) is not None:
            assert isinstance(order, _Order)
            try:
                platform = worker.platform_for(order.recipe)
            except Exception as error:  # reported, and the others are not kept waiting
                barrier.abort()
                orders.send((_Outcome("WorkerSetupError", repr(error)), 0))
                continue
            worker.clock.instant = order.at
            before = worker.hasher.verifications
            try:
                barrier.wait(timeout=_BARRIER_TIMEOUT)
            except threading.BrokenBarrierError:
                orders.send((_Outcome("BrokenBarrierError", "not released together"), 0))
                continue
            outcome = order.call.on(platform) if order.call else None
            orders.send((outcome, worker.hasher.verifications - before))
    finally:
        worker.close()
        orders.close()
    # Nothing is left to flush: skip the interpreter's teardown, which on a small machine
    # costs a worker longer than a dozen rounds.
    os._exit(0)


class _Processes:
    """A pool of spawned workers, each with its own platform; every worker takes part in
    every round (those without a call only pass the barrier), so one barrier serves."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._barrier = context.Barrier(size)
        self._orders: list[Pipe] = []
        self._workers: list[multiprocessing.process.BaseProcess] = []
        for n in range(size):
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=_serve,
                args=(theirs, self._barrier),
                name=f"peps-racer-{n}",
                daemon=True,
            )
            worker.start()
            theirs.close()
            self._orders.append(ours)
            self._workers.append(worker)
        self._ready = False

    def _receive(self, orders: Pipe, worker: multiprocessing.process.BaseProcess) -> object:
        if not orders.poll(_ANSWER_TIMEOUT):
            raise RuntimeError(f"{worker.name} did not answer (alive: {worker.is_alive()})")
        try:
            return orders.recv()
        except EOFError:
            raise RuntimeError(f"{worker.name} died (exit code {worker.exitcode})") from None

    def race(self, scene: _Round, calls: Sequence[_Call]) -> _Race:
        if isinstance(scene.recipe, InMemoryStoreRecipe):
            raise TypeError("an in-memory store cannot be shared by processes: use threads")
        if len(calls) > len(self._orders):
            raise ValueError(f"{len(calls)} calls for {len(self._orders)} workers")
        if not self._ready:  # the workers start together, and take seconds to import
            for orders, worker in zip(self._orders, self._workers, strict=True):
                if self._receive(orders, worker) != _READY:
                    raise RuntimeError(f"{worker.name} did not start as expected")
            self._ready = True
        at = scene.at
        seats: list[_Call | None] = [*calls, *[None] * (len(self._orders) - len(calls))]
        for orders, call in zip(self._orders, seats, strict=True):
            orders.send(_Order(scene.recipe, at, call))
        outcomes: list[_Outcome] = []
        verifications = 0
        for orders, worker in zip(self._orders, self._workers, strict=True):
            answer = self._receive(orders, worker)
            assert isinstance(answer, tuple)
            outcome, verified = answer
            verifications += verified
            if outcome is not None:
                outcomes.append(outcome)
        if self._barrier.broken:
            self._barrier.reset()
        return _Race(tuple(outcomes), verifications)

    def close(self) -> None:
        for orders in self._orders:
            with suppress(BrokenPipeError, OSError):
                orders.send(None)
        for worker in self._workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        for orders in self._orders:
            orders.close()


# --- the suite ---------------------------------------------------------------------------


@frozen
class _Broken:
    """What one broken round measured: ``what`` groups rounds, ``example`` details one."""

    what: str
    example: str = ""


S = TypeVar("S")
Check = Callable[[_Round, _Racers, S], "_Broken | None"]


def _unexpected(race: _Race, *allowed: str) -> str:
    others = race.others(*allowed)
    return f"; e.g. {others[0].detail}" if others else ""


def _two_administrators(journey: Journey) -> tuple[str, str]:
    """An enrolled establishment (COMMUNE) with two active administrators."""
    first = journey.enrolled_administrator()
    second = journey.active_user(first)
    journey.platform.promote(first, second)
    return first, second


def _administrators_left(scene: _Round, race: _Race) -> _Broken | None:
    """E5 after two administrators acted on each other: one is left, and each call
    succeeded or was refused for E5, or, once the other call had removed the caller's
    own administrator rights, for R6 (``PermissionDeniedError``: a use case that re-runs
    on fresh state after a conflict finds its actor no longer an administrator)."""
    first, second = race.outcomes
    unfair = [
        mine
        for mine, theirs in ((first, second), (second, first))
        if mine.name not in (_SUCCESS, "LastAdministratorError")
        and not (mine.name == "PermissionDeniedError" and theirs.name == _SUCCESS)
    ]
    left = sum(1 for a in scene.accounts_of(COMMUNE) if a.is_administrator)
    if left >= 1 and not unfair:
        return None
    example = f"; e.g. {unfair[0].detail}" if unfair else ""
    return _Broken(f"{race.summary()} -> {left} administrator(s) left", example)


def _reset_token(journey: Journey) -> str:
    """An enrolled administrator asked for a password reset: the token the e-mail carries."""
    admin = journey.enrolled_administrator()
    journey.platform.request_password_reset(admin)
    return journey.last_token(holder_form().email)


def _ticket(journey: Journey) -> NetEntreprisesCompletion:
    """Paul Martin signs in with Net-Entreprises for COMMUNE: his completed form."""
    journey.world.net_entreprises.register(
        siret=COMMUNE, last_name=_NE_LAST, first_name=_NE_FIRST, password=_NE_PASSWORD
    )
    signed = journey.platform.sign_in_with_net_entreprises(
        NetEntreprisesCredentials(
            siret=COMMUNE, last_name=_NE_LAST, first_name=_NE_FIRST, password=_NE_PASSWORD
        )
    )
    assert isinstance(signed, NetEntreprisesSignedIn)
    return NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form())


class ConcurrencyContract:
    """Races of real use cases (E5, A8, N3, N4, A4) on the host's store.

    Fixture ``store_recipe``: a :class:`StoreRecipe` on a fresh, migrated store.
    """

    racers_in: ClassVar[Literal["threads", "processes"]] = "threads"
    racers: ClassVar[int] = 8
    rounds: ClassVar[int] = 50

    @pytest.fixture(scope="class")
    @classmethod
    def racecourse(cls) -> Iterator[_Racers]:
        """The racers: threads, or a pool of worker processes kept for the whole class."""
        racers: _Racers = (
            _Processes(cls.racers) if cls.racers_in == "processes" else _Threads(cls.racers)
        )
        try:
            yield racers
        finally:
            racers.close()

    def _play(
        self,
        store_recipe: StoreRecipe,
        racecourse: _Racers,
        stage: Callable[[Journey], S],
        check: Check[S],
    ) -> None:
        """Sets the scene once on the emptied store, then plays ``rounds`` rounds, each
        from that scene restored; fails with what the broken rounds measured."""
        rounds = int(os.environ.get(_ROUNDS_VARIABLE, self.rounds))
        broken: list[_Broken] = []
        with _opened(store_recipe) as store:
            store.empty()
            clock = FakeClock(START)
            setting = _platform(
                store.unit_of_work,
                clock=clock,
                hasher=Argon2PasswordHasher.fast_for_tests(),
                random_source=SeededRandomSource(7),
            )
            scene_values = stage(Journey(setting, clock))
            restore = store.keep()
            hasher = CountingHasher(Argon2PasswordHasher.fast_for_tests())
            platform = _platform(
                store.unit_of_work,
                clock=FakeClock(clock.now()),
                hasher=hasher,
                random_source=SystemRandomSource(),
            ).platform
            scene = _Round(store_recipe, store, platform, hasher, clock.now())
            for _ in range(rounds):
                restore()
                verdict = check(scene, racecourse, scene_values)
                if verdict is not None:
                    broken.append(verdict)
        assert not broken, _report(broken, rounds, self.racers_in)

    # --- E5: always an administrator ---------------------------------------------------

    @pytest.mark.rule("E5", "R5", "R6")
    def test_two_administrators_demoting_each_other_at_once_leave_one(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rules E5, R5, R6: the only two administrators demote each other at the same
        moment (A demotes B while B demotes A); at least one administrator remains, and
        each call succeeds or gets ``LastAdministratorError``, or ``PermissionDeniedError``
        when the other call, done first, took its caller's rights; nothing else."""

        def check(scene: _Round, racers: _Racers, admins: tuple[str, str]) -> _Broken | None:
            first, second = admins
            calls = [_Call("demote", (first, second)), _Call("demote", (second, first))]
            return _administrators_left(scene, racers.race(scene, calls))

        self._play(store_recipe, racecourse, _two_administrators, check)

    @pytest.mark.rule("E5", "R5", "R6", "A2")
    def test_two_administrators_invalidating_each_other_at_once_leave_one(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rules E5, R5, R6, A2: the only two administrators invalidate (« infirmer »)
        each other at the same moment; at least one administrator is neither deleted nor
        invalidated, and each call succeeds or gets ``LastAdministratorError``, or
        ``PermissionDeniedError`` when the other call, done first, invalidated its caller."""

        def check(scene: _Round, racers: _Racers, admins: tuple[str, str]) -> _Broken | None:
            first, second = admins
            calls = [_Call("invalidate", (first, second)), _Call("invalidate", (second, first))]
            return _administrators_left(scene, racers.race(scene, calls))

        self._play(store_recipe, racecourse, _two_administrators, check)

    # --- A8: a link is used once -------------------------------------------------------

    @pytest.mark.rule("A8", "A5")
    def test_one_reset_link_used_at_once_by_many_resets_the_password_once(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rules A8, A5: many password resets with one reset link at the same moment:
        exactly one succeeds, every other gets ``LinkNoLongerValidError``."""
        many = self.racers

        def check(scene: _Round, racers: _Racers, token: str) -> _Broken | None:
            call = _Call("reset_password", (token, _NEW_PASSWORD, _NEW_PASSWORD))
            race = racers.race(scene, [call] * many)
            expected = "LinkNoLongerValidError"
            if race.count(_SUCCESS) == 1 and race.count(expected) == many - 1:
                return None
            return _Broken(race.summary(), _unexpected(race, _SUCCESS, expected))

        self._play(store_recipe, racecourse, _reset_token, check)

    # --- N3, N4: one ticket, one account ----------------------------------------------

    def _one_ticket_makes_one_account(
        self, scene: _Round, racers: _Racers, completion: NetEntreprisesCompletion
    ) -> _Broken | None:
        call = _Call("complete_net_entreprises", (completion,))
        race = racers.race(scene, [call] * self.racers)
        replay = call.on(scene.platform)
        allowed = (_SUCCESS, "NetEntreprisesTicketUsedError", "NetEntreprisesAccountExistsError")
        members = scene.accounts_of(COMMUNE)
        theirs = [a for a in members if a.net_entreprises and _is_paul_martin(a)]
        administrators = sum(1 for a in members if a.is_administrator)
        state = scene.enrolment_state(COMMUNE)
        if (
            race.count(_SUCCESS) == 1
            and not race.others(*allowed)
            and len(theirs) == 1
            and administrators == 1
            and state is EnrolmentState.ENROLLED
            and replay.name == "NetEntreprisesTicketUsedError"
        ):
            return None
        return _Broken(
            f"{race.summary()} -> {len(theirs)} account(s) for the person, "
            f"{administrators} administrator(s), enrolment {state.value}; replay: {replay.name}",
            _unexpected(race, *allowed),
        )

    @pytest.mark.rule("N3", "N6")
    def test_one_ticket_completed_at_once_by_many_makes_one_user_account(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rules N3, N6: on an enrolled establishment, many completions of one
        Net-Entreprises ticket at the same moment make exactly one account for that
        person; the others get ``NetEntreprisesTicketUsedError`` or
        ``NetEntreprisesAccountExistsError``, and a replay afterwards gets
        ``NetEntreprisesTicketUsedError``."""

        def stage(journey: Journey) -> NetEntreprisesCompletion:
            journey.enrolled_administrator()
            return _ticket(journey)

        self._play(store_recipe, racecourse, stage, self._one_ticket_makes_one_account)

    @pytest.mark.rule("N4", "E6", "E5")
    def test_one_ticket_completed_at_once_by_many_enrols_once_with_one_administrator(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rules N4, E6, E5: on an establishment not enrolled, many completions of one
        Net-Entreprises ticket at the same moment enrol it once, with exactly one
        account (its administrator); the others get ``NetEntreprisesTicketUsedError``
        or ``NetEntreprisesAccountExistsError``, and a replay afterwards gets
        ``NetEntreprisesTicketUsedError``."""
        self._play(store_recipe, racecourse, _ticket, self._one_ticket_makes_one_account)

    # --- A4: login ---------------------------------------------------------------------

    @pytest.mark.rule("A4", "P3")
    def test_many_wrong_passwords_at_once_check_no_more_than_the_limit_and_block(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rule A4: many logins with a wrong password on one active account at the same
        moment verify at most ``policy.max_failed_logins`` passwords, leave the account
        « Bloqué », and each gets ``InvalidCredentialsError`` or
        ``AccountBlockedError``, nothing else."""
        many = self.racers

        def check(scene: _Round, racers: _Racers, admin: str) -> _Broken | None:
            limit = scene.platform.policy.max_failed_logins
            race = racers.race(scene, [_Call("login", (admin, "Mauvais-mot-1"))] * many)
            allowed = ("InvalidCredentialsError", "AccountBlockedError")
            state = scene.account(admin).state
            if (
                race.verifications <= limit
                and state is AccountState.BLOCKED
                and not race.others(*allowed)
            ):
                return None
            return _Broken(
                f"{race.summary()} -> {race.verifications} passwords verified "
                f"(limit {limit}), account « {state.label} »",
                _unexpected(race, *allowed),
            )

        self._play(store_recipe, racecourse, _enrolled_administrator, check)

    @pytest.mark.rule("A4")
    def test_many_right_passwords_at_once_all_log_in(
        self, store_recipe: StoreRecipe, racecourse: _Racers
    ) -> None:
        """Rule A4: many logins with the right password on one active account at the same
        moment all succeed: no conflict between them ever reaches a caller."""
        many = self.racers

        def check(scene: _Round, racers: _Racers, admin: str) -> _Broken | None:
            race = racers.race(scene, [_Call("login", (admin, PASSWORD))] * many)
            if race.count(_SUCCESS) == many:
                return None
            return _Broken(race.summary(), _unexpected(race, _SUCCESS))

        self._play(store_recipe, racecourse, _enrolled_administrator, check)


def _enrolled_administrator(journey: Journey) -> str:
    """An enrolled establishment (COMMUNE) and its active administrator."""
    return journey.enrolled_administrator()


def _is_paul_martin(account: Account) -> bool:
    return account.holder.last_name.matches(
        PersonName.parse(_NE_LAST)
    ) and account.holder.first_name.matches(PersonName.parse(_NE_FIRST))


@contextmanager
def _opened(recipe: StoreRecipe) -> Iterator[OpenStore]:
    store = recipe.open()
    try:
        yield store
    finally:
        store.close()


def _report(broken: Sequence[_Broken], rounds: int, racers_in: str) -> str:
    """« broken in 3 of 50 rounds (threads): 2× …; 1× … », the commonest first."""
    examples: dict[str, str] = {}
    for verdict in broken:
        examples.setdefault(verdict.what, verdict.example)
    kinds = Counter(verdict.what for verdict in broken).most_common()
    described = "; ".join(f"{n}× {what}{examples[what]}" for what, n in kinds[:_KINDS_SHOWN])
    if len(kinds) > _KINDS_SHOWN:
        described += f"; and {len(kinds) - _KINDS_SHOWN} other kinds"
    return f"broken in {len(broken)} of {rounds} rounds ({racers_in}): {described}"
