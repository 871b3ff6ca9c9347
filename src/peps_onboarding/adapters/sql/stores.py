"""The stores on SQL (SQLAlchemy 2 Core): SQLite by default, PostgreSQL for many instances.

One :class:`SqlUnitOfWork` is one use case, and all of it commits or nothing does. It
keeps the in-memory adapter's semantics (:mod:`peps_onboarding.adapters.memory`),
which the contract suite :class:`~peps_onboarding.testing.contracts.UnitOfWorkContract`
pins for both:

- **Reads** see the latest committed data, overlaid with the unit of work's own writes.
- **Writes are staged** in the unit of work and applied at ``commit()`` in one short
  database transaction: on SQLite ``BEGIN IMMEDIATE`` (the write lock is taken first,
  so a transaction never has to upgrade a stale read snapshot, which SQLite refuses
  with ``SQLITE_BUSY_SNAPSHOT``); on PostgreSQL, a READ COMMITTED transaction.
- **Optimistic concurrency, not row locks.** Each enrolment and account carries a
  ``version``. An update is applied as ``UPDATE … SET version = :read + 1 WHERE key =
  :key AND version = :read``; no row → :class:`~peps_onboarding.domain.errors.
  ConcurrentUpdateError`, and the whole transaction rolls back. Lost updates are thus
  impossible. Why not ``SELECT … FOR UPDATE``: the port (and the memory adapter)
  define optimistic versions; SQLite has no row locks; a use case never holds a lock
  while it hashes a password or waits for Net-Entreprises; and a conflict, rare here,
  is a ``ConflictError`` that the application re-runs on fresh state
  (:func:`peps_onboarding.application.dependencies.retrying`). Several updates of one
  record in one unit of work compose: the version does not move until the commit,
  which stores ``version + 1``.
- **E6 across processes**: ``enrolments.siret`` is the primary key. Adding an
  existing key raises :class:`~peps_onboarding.domain.errors.ConflictError` at
  ``add`` when it is already committed, or at ``commit`` when a concurrent
  transaction got there first (the database's unique violation, translated).
  No raw database error reaches the caller: integrity errors become
  ``ConflictError``, lock timeouts, serialisation failures and deadlocks become
  ``ConcurrentUpdateError``, an unreachable database
  :class:`~peps_onboarding.domain.errors.ServiceUnavailableError`.
- ``AccountStore.next_number`` works like a database sequence: its own short
  transaction, so a number is never given twice, even when the unit of work that
  drew it rolls back (A1).
- The history (L1) is ordered by the events' auto-incremented id.

**Outbox claiming** (M3). Several dispatchers may run at once (``Platform.
dispatch_notifications`` claims one message, commits, delivers it, saves the outcome).
``Outbox.claim(at, limit, lease)`` picks due unclaimed messages (on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, so a concurrent dispatcher skips those rows instead of
waiting); the commit sets their ``claimed_until`` to ``at + lease`` only where each is
still due and no other claim runs (else ``ConflictError``, retried on fresh state: on
SQLite two claimers may read the same rows, and the second commit, serialised by
``BEGIN IMMEDIATE``, loses). While the lease runs, ``due`` and other claims skip the
message. Saving the outcome (``Outbox.save``) releases it, under a guard checked at
commit: a failure or a dead letter only while ``claimed_until`` is still the claimed
copy's (another dispatcher may have retaken it once the lease ran out), a delivery only
if not already sent, and a message read unclaimed (an operator's retry) only if its
``attempts``, ``sent_at`` and ``dead_at`` are as read. A dispatcher that dies
mid-dispatch leaves its message claimed until the lease ends, then another takes it;
the message id is the idempotency key that lets the receiving side drop the duplicate.
Dead letters (``dead_at`` set) are never due, nor pending.
:meth:`SqlDatabase.claim_due_outbox` is the same claim, committed at once.

**SQLite settings** (on every new connection): WAL journal (readers never block the
writer), ``foreign_keys=ON``, ``busy_timeout`` (a writer waits for the lock instead
of failing at once), ``synchronous=FULL`` (a committed transaction survives a power
cut). ``sqlite:///:memory:`` uses one shared connection (``StaticPool``): for tests
and demos in one process; its units of work are serialised by a lock.

The schema comes from the Alembic migrations shipped in ``migrations/``:
:meth:`SqlDatabase.upgrade` (or :func:`upgrade`) brings a database to the head.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import namedtuple
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from alembic import command
from alembic.config import Config
from attrs import evolve
from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Row,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import PoolProxiedConnection, StaticPool
from sqlalchemy.sql.elements import BindParameter

from ...domain.account import Account, AccountState, Holder, Profile
from ...domain.errors import (
    ConcurrentUpdateError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
)
from ...domain.establishment import Enrolment, EnrolmentPath, EnrolmentState
from ...domain.events import DomainEvent
from ...domain.links import Link, LinkPurpose
from ...domain.notifications import Notification, OutboxMessage
from ...domain.rights import AccessLevel, Right
from ...domain.values import (
    Civility,
    EmailAddress,
    FixedPhone,
    Identifier,
    PersonName,
    PostalAddress,
    PostalCode,
    Siret,
    TextLine,
)
from ..contents import StoreContents
from ..serialization import converter
from ..staging import StagedWrites
from .tables import (
    accounts,
    enrolments,
    events,
    identifier_counters,
    links,
    outbox,
    password_checks,
    rights,
)
from .urls import sqlite_file

__all__ = ["SqlDatabase", "SqlUnitOfWork", "alembic_config", "upgrade"]

_log = logging.getLogger(__name__)

# Execution option read by the SQLite "begin" listener: what to emit to begin.
_SQLITE_BEGIN = "peps_sqlite_begin"
_READ_ONLY: Literal[""] = ""  # no BEGIN: each read is its own statement-level snapshot
_WRITE = "IMMEDIATE"
# PostgreSQL SQLSTATEs that mean "two writers collided; run it again".
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", Enrolment, Account)


# --- the database ---------------------------------------------------------------------


class SqlDatabase:
    """An engine on a SQLite or PostgreSQL URL, and the units of work made from it.

    ``url`` is a SQLAlchemy URL (``sqlite:///onboarding.db``, ``sqlite:///:memory:``,
    ``postgresql+psycopg://user@host/db``; plain ``postgresql://`` means psycopg 3) or
    a ready :class:`~sqlalchemy.Engine`. Call :meth:`upgrade` once to create or update
    the schema; :meth:`dispose` (or ``with``) closes the connections.
    """

    def __init__(self, url: str | Engine, *, busy_timeout: timedelta = timedelta(seconds=30)):
        if isinstance(url, Engine):
            self.engine = url
        else:
            self.engine = _create_engine(url)
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database: {self.dialect} (SQLite or PostgreSQL)")
        self._memory_lock: threading.RLock | None = None
        self._queries: dict[Select[Any], _Query] = {}  # the hot reads, compiled once
        # The unit of work open on each thread, whose connection the SQL directory
        # reads through (:meth:`current_unit_of_work`).
        self._open = threading.local()
        memory = self.dialect == "sqlite" and self.engine.url.database in (None, "", ":memory:")
        # ``next_number`` draws from a pool of its own: a unit of work holds a connection
        # of the main pool while it asks for a number, so sharing that pool would let
        # many concurrent units of work starve each other (every one waiting for a
        # second connection). The counters' pool never waits (unbounded overflow).
        self._counters = self.engine if memory else _counters_engine(self.engine)
        for engine in {self.engine, self._counters}:
            if self.dialect == "sqlite":
                _configure_sqlite(engine, busy_timeout=busy_timeout, wal=not memory)
        if memory:
            self._memory_lock = threading.RLock()

    # --- units of work ------------------------------------------------------------

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    __call__ = unit_of_work

    def current_unit_of_work(self) -> SqlUnitOfWork | None:
        """The unit of work open (inside its ``with``) on the calling thread, if any.

        :class:`~peps_onboarding.adapters.sql.directory.SqlDirectory` reads through it,
        so a use case that looks the directory up inside its unit of work takes one
        pooled connection, not one per lookup.
        """
        current: SqlUnitOfWork | None = getattr(self._open, "uow", None)
        return current

    # --- schema -------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Applies the migrations up to ``revision`` (default: the newest), and logs the
        change of revision on ``peps_onboarding.adapters.sql.stores`` when there is one."""
        with self.write() as connection:
            before = _revision_of(connection)
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            after = _revision_of(connection)
        if after != before:
            _log.info("schema upgraded from %s to %s", before or "an empty database", after)

    def revision(self) -> str | None:
        """The schema revision the database is at (``None`` when never migrated)."""
        with self.engine.connect() as connection:
            return _revision_of(connection)

    # --- outside any unit of work -------------------------------------------------

    def next_number(self, prefix: str) -> int:
        """Rule A1: the next number for a prefix, in its own transaction (never reused)."""
        values = {"prefix": prefix, "last_number": 1}
        statement = (
            _insert(self.dialect, identifier_counters)
            .values(values)
            .on_conflict_do_update(
                index_elements=[identifier_counters.c.prefix],
                set_={"last_number": identifier_counters.c.last_number + 1},
            )
            .returning(identifier_counters.c.last_number)
        )
        with self.write(self._counters) as connection:
            number: int = connection.execute(statement).scalar_one()
        return number

    def reserve_password_check(self, identifier: Identifier, limit: int) -> bool:
        """Rule A4: one of the account's password-check slots, in its own transaction: an
        upsert that adds one only below ``limit``, so racing callers never exceed it."""
        statement = _insert(self.dialect, password_checks).values(
            identifier=identifier.value, taken=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=[password_checks.c.identifier],
            set_={"taken": password_checks.c.taken + 1},
            where=password_checks.c.taken < limit,
        ).returning(password_checks.c.taken)
        if limit < 1:
            return False
        with self.write(self._counters) as connection:
            return connection.execute(statement).first() is not None

    def claim_due_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Rule M3: :meth:`Outbox.claim <peps_onboarding.ports.Outbox.claim>` in a unit of
        work of its own, committed: the messages are this caller's for ``lease``."""
        with self.unit_of_work() as uow:
            taken = list(uow.outbox.claim(now, limit, lease))
            uow.commit()
        return taken

    def contents(self) -> StoreContents:
        """Every committed record, read in one transaction (one snapshot): for tests
        and inspection (the stateful model over SQL reads it after each step).

        Enrolments come by SIRET, accounts in the order they were added, links by
        creation, events in history order (L1), outbox messages in the order they were
        written: on SQLite by ``rowid``; on PostgreSQL by creation time, then id (two
        messages written at the same instant may come in either order).
        """
        written: list[ColumnElement[Any]] = (
            [literal_column("outbox.rowid")]
            if self.dialect == "sqlite"
            else [outbox.c.created_at, outbox.c.id]
        )
        lock = self._memory_lock or threading.RLock()
        with lock, _translated(), self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                held: dict[str, list[Right]] = {}
                for right in connection.execute(
                    select(rights).order_by(rights.c.identifier, rights.c.position)
                ):
                    held.setdefault(right.identifier, []).append(
                        Right(right.service, AccessLevel(right.level))
                    )
                return StoreContents(
                    enrolments=tuple(
                        _enrolment_from(row)
                        for row in connection.execute(
                            select(enrolments).order_by(enrolments.c.siret)
                        )
                    ),
                    accounts=tuple(
                        _account_from(row, held.get(row.identifier, []))
                        for row in connection.execute(select(accounts).order_by(accounts.c.seq))
                    ),
                    links=tuple(
                        _link_from(row)
                        for row in connection.execute(
                            select(links).order_by(links.c.created_at, links.c.token_hash)
                        )
                    ),
                    events=tuple(
                        converter.loads(row.payload, DomainEvent)
                        for row in connection.execute(
                            select(events.c.payload).order_by(events.c.id)
                        )
                    ),
                    outbox=tuple(
                        _message_from(row)
                        for row in connection.execute(select(outbox).order_by(*written))
                    ),
                )

    @contextmanager
    def write(self, engine: Engine | None = None) -> Iterator[Connection]:
        """A connection in a write transaction, committed at the end (rolled back on error).

        Database errors come out as the domain's (see the module's docstring).
        """
        with _translated(), (engine or self.engine).connect() as connection:
            if self.dialect == "sqlite":
                connection.execution_options(**{_SQLITE_BEGIN: _WRITE})
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()
        if self._counters is not self.engine:
            self._counters.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()


def _create_engine(url: str) -> Engine:
    """Statement parameters (hashes, names, e-mail addresses) never appear in the text of
    an exception (``hide_parameters``): errors are logged and shown by hosts."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return create_engine(
                parsed,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
                hide_parameters=True,
            )
        return create_engine(
            parsed, connect_args={"check_same_thread": False}, hide_parameters=True
        )
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def _counters_engine(engine: Engine) -> Engine:
    """A small engine on the same database, for ``next_number`` only."""
    if engine.dialect.name == "sqlite":
        return create_engine(
            engine.url,
            connect_args={"check_same_thread": False},
            pool_size=1,
            max_overflow=-1,
            hide_parameters=True,
        )
    return create_engine(
        engine.url, pool_size=1, max_overflow=-1, pool_pre_ping=True, hide_parameters=True
    )


def _configure_sqlite(engine: Engine, *, busy_timeout: timedelta, wal: bool) -> None:
    """Driver autocommit, so that we emit BEGIN ourselves (SQLAlchemy's documented recipe
    for pysqlite): ``DEFERRED`` by default, ``IMMEDIATE`` for writes, none for reads.

    A database file that does not exist yet is created private to its owner (``0600``)
    just before SQLite opens it: it holds password hashes and personal data, and SQLite
    would create it with the umask (``0644`` under the usual ``022``). SQLite gives the
    ``-wal``, ``-shm`` and ``-journal`` files it creates the database file's mode, so
    they are private too. A file that already exists keeps the mode it has.
    """
    milliseconds = int(busy_timeout.total_seconds() * 1000)

    def before_connect(
        _dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        database = cargs[0] if cargs else cparams.get("database", "")
        path = sqlite_file(str(database), uri=bool(cparams.get("uri")))
        if path is None:
            return
        # Already there (kept as it is), or not creatable (a missing folder, no
        # permission): SQLite then opens it or reports the failure in its own words.
        with suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        if mode:
            connection.exec_driver_sql(f"BEGIN {mode}")

    if not event.contains(engine, "connect", on_connect):
        event.listen(engine, "do_connect", before_connect)
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", on_begin)


@contextmanager
def _translated() -> Iterator[None]:
    """Database errors as the domain's: conflicts are retryable, never raw."""
    try:
        yield
    except IntegrityError as error:
        # Named by its constraint only: PostgreSQL's own text quotes the duplicate value
        # (« Key (…)=(…) already exists »), which may be personal data, and the cause is
        # dropped for the same reason.
        raise ConflictError(f"the database refused a duplicate ({_constraint(error)})") from None
    except DBAPIError as error:
        if _is_contention(error):
            raise ConcurrentUpdateError(
                f"the database reported contention: {error.orig}"
            ) from error
        if isinstance(error, OperationalError) or error.connection_invalidated:
            raise ServiceUnavailableError(f"database unavailable: {error.orig}") from error
        raise


def _constraint(error: IntegrityError) -> str:
    diagnostics = getattr(error.orig, "diag", None)
    name = getattr(diagnostics, "constraint_name", None)
    if isinstance(name, str):
        return name
    text = str(error.orig)  # SQLite names the columns, never the values
    return text.split(":", 1)[-1].strip()[:200] if "UNIQUE" in text else "integrity"


def _is_contention(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def _insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT`` (both spell it the same)."""
    return (pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert)(table)


# --- migrations -----------------------------------------------------------------------


def alembic_config() -> Config:
    """Alembic's configuration, built in code: the scripts ship inside the package."""
    config = Config()
    location = resources.files("peps_onboarding.adapters.sql") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def _revision_of(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Creates or updates the schema of the database at ``url`` (the newest by default)."""
    database = SqlDatabase(url)
    try:
        database.upgrade(revision)
    finally:
        if not isinstance(url, Engine):
            database.dispose()


# --- rows ↔ records -------------------------------------------------------------------


def _enrolment_values(enrolment: Enrolment) -> dict[str, object]:
    return {
        "siret": enrolment.siret.value,
        "state": enrolment.state.value,
        "path": enrolment.path.value if enrolment.path else None,
        "applicant": enrolment.applicant.value if enrolment.applicant else None,
        "submitted_at": enrolment.submitted_at,
        "access_from": enrolment.access_from,
        "enrolled_at": enrolment.enrolled_at,
        "deadline": enrolment.deadline,
    }


def _enrolment_from(row: Row[Any]) -> Enrolment:
    return Enrolment(
        siret=Siret(row.siret),
        state=EnrolmentState(row.state),
        path=EnrolmentPath(row.path) if row.path else None,
        applicant=Identifier(row.applicant) if row.applicant else None,
        submitted_at=row.submitted_at,
        access_from=row.access_from,
        enrolled_at=row.enrolled_at,
        version=row.version,
    )


def _account_values(account: Account) -> dict[str, object]:
    holder, address = account.holder, account.holder.address
    return {
        "identifier": account.identifier.value,
        "siret": account.siret.value,
        "profile": account.profile.value,
        "state": account.state.value,
        "civility": holder.civility.value,
        "last_name": holder.last_name.value,
        "first_name": holder.first_name.value,
        "email": holder.email.value,
        "phone": holder.phone.digits,
        "service_function": holder.service_function.value,
        "street": address.street.value,
        "postal_code": address.postal_code.value,
        "city": address.city.value,
        "address_complement": _text(address.address_complement),
        "identification_complement": _text(address.identification_complement),
        "locality": _text(address.locality),
        "net_entreprises": account.net_entreprises,
        "created_at": account.created_at,
        "password_hash": account.password_hash,
        "failed_logins": account.failed_logins,
        "activation_deadline": account.activation_deadline,
        "expires_at": account.expires_at,
        "last_login_at": account.last_login_at,
        "deadline": account.deadline,
    }


def _text(line: TextLine | None) -> str | None:
    return line.value if line is not None else None


def _line(value: str | None) -> TextLine | None:
    return TextLine(value) if value is not None else None


def _account_from(row: Row[Any], held: Sequence[Right]) -> Account:
    # Stored values were parsed when they came in: they are rebuilt, not parsed again.
    holder = Holder(
        civility=Civility(row.civility),
        last_name=PersonName(row.last_name),
        first_name=PersonName(row.first_name),
        email=EmailAddress(row.email),
        phone=FixedPhone(row.phone),
        service_function=TextLine(row.service_function),
        address=PostalAddress(
            street=TextLine(row.street),
            postal_code=PostalCode(row.postal_code),
            city=TextLine(row.city),
            address_complement=_line(row.address_complement),
            identification_complement=_line(row.identification_complement),
            locality=_line(row.locality),
        ),
    )
    return Account(
        identifier=Identifier(row.identifier),
        siret=Siret(row.siret),
        profile=Profile(row.profile),
        state=AccountState(row.state),
        holder=holder,
        net_entreprises=row.net_entreprises,
        created_at=row.created_at,
        password_hash=row.password_hash,
        failed_logins=row.failed_logins,
        activation_deadline=row.activation_deadline,
        expires_at=row.expires_at,
        last_login_at=row.last_login_at,
        rights=tuple(held),
        version=row.version,
    )


def _rights_values(account: Account) -> list[dict[str, object]]:
    return [
        {
            "identifier": account.identifier.value,
            "service": right.service,
            "level": right.level.value,
            "position": position,
        }
        for position, right in enumerate(account.rights)
    ]


def _link_values(link: Link) -> dict[str, object]:
    return {
        "token_hash": link.token_hash,
        "purpose": link.purpose.value,
        "identifier": link.identifier.value,
        "siret": link.siret.value,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "used_at": link.used_at,
        "revoked_at": link.revoked_at,
    }


def _link_update(link: Link, read: int) -> dict[str, object]:
    return {
        "used_at": link.used_at,
        "revoked_at": link.revoked_at,
        "expires_at": link.expires_at,
        "version": read + 1,
        "k_token_hash": link.token_hash,
        "k_version": read,
    }


def _link_from(row: Row[Any]) -> Link:
    return Link(
        token_hash=row.token_hash,
        purpose=LinkPurpose(row.purpose),
        identifier=Identifier(row.identifier),
        siret=Siret(row.siret),
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
        version=row.version,
    )


def _event_values(event: DomainEvent) -> dict[str, object]:
    return {
        "siret": event.siret,
        "kind": event.kind,
        "at": event.at,
        "account": event.account,
        "actor": event.actor,
        "payload": converter.dumps(event, DomainEvent),
    }


def _message_values(message: OutboxMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "siret": message.siret,
        "created_at": message.created_at,
        "next_attempt_at": message.next_attempt_at,
        "attempts": message.attempts,
        "sent_at": message.sent_at,
        "last_error": message.last_error,
        "dead_at": message.dead_at,
        "claimed_until": None,  # an outcome recorded releases a worker's claim
        "payload": json.dumps(converter.unstructure(message.notification, Notification)),
    }


def _message_from(row: Row[Any]) -> OutboxMessage:
    notification: Notification = converter.structure(json.loads(row.payload), Notification)  # type: ignore[arg-type]
    return OutboxMessage(
        id=row.id,
        siret=row.siret,
        created_at=row.created_at,
        notification=notification,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        dead_at=row.dead_at,
    )


def _pending_outbox() -> ColumnElement[bool]:
    """Unsent and not a dead letter."""
    return and_(outbox.c.sent_at.is_(None), outbox.c.dead_at.is_(None))


def _due_outbox(at: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Pending, its time has come, and no worker's lease runs on it."""
    return and_(
        _pending_outbox(),
        outbox.c.next_attempt_at <= at,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= at),
    )


_ReadState = tuple[int, datetime | None, datetime | None]  # attempts, sent_at, dead_at


@lru_cache(maxsize=16)
def _save_message(delivery: bool, claimed: bool, read: tuple[bool, bool] | None) -> Update:
    """The guarded update of :meth:`Outbox.save <peps_onboarding.ports.Outbox.save>`.

    ``delivery``: the outcome is a delivery (written unless already sent); ``claimed``:
    another outcome of a claimed copy (written only under that same claim, parameter
    ``k_claimed_until``); ``read``: the message was read unclaimed in this unit of work,
    whether its ``sent_at`` and ``dead_at`` were NULL then (``k_attempts``, ``k_sent_at``,
    ``k_dead_at`` are what was read).
    """
    guards: list[ColumnElement[bool]] = [outbox.c.id == bindparam("k_id")]
    if delivery:
        guards.append(outbox.c.sent_at.is_(None))
    elif claimed:
        guards += [_pending_outbox(), outbox.c.claimed_until == bindparam("k_claimed_until")]
    if read is not None:
        sent_null, dead_null = read
        guards.append(outbox.c.attempts == bindparam("k_attempts"))
        guards.append(
            outbox.c.sent_at.is_(None) if sent_null else outbox.c.sent_at == bindparam("k_sent_at")
        )
        guards.append(
            outbox.c.dead_at.is_(None) if dead_null else outbox.c.dead_at == bindparam("k_dead_at")
        )
    return update(outbox).where(*guards)


# --- hot reads, compiled once ---------------------------------------------------------


class _Query:
    """A hot read compiled once for a dialect, then run on the driver's cursor.

    The SQL is what SQLAlchemy itself would send (the statement built with Core,
    compiled for the engine's dialect), run on the unit of work's connection (same
    transaction, same isolation as :meth:`SqlUnitOfWork.read`); each value comes back
    through the column type's own result processor (``UtcDateTime``, SQLite's
    booleans), by position, in a named tuple that the ``_…_from`` functions read as
    they read a ``Row``. What it skips is SQLAlchemy's per-call work (cache key,
    execution context, result metadata), which costs more than the query on a
    primary-key lookup (the directory does the same, see
    :mod:`~peps_onboarding.adapters.sql.directory`). The statements take string
    parameters only (no bind processing).
    """

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ()) if compiled.positional else None
        columns = list(statement.selected_columns)
        self.row: Callable[..., Any] = namedtuple("_Row", [c.name for c in columns])  # type: ignore[misc]
        self.processors = tuple(
            (i, processor)
            for i, column in enumerate(columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        )

    def run(
        self, proxied: PoolProxiedConnection, dialect: Dialect, values: Mapping[str, str]
    ) -> list[Any]:
        """The rows (database errors raised as SQLAlchemy's, for :func:`_translated`)."""
        parameters: Any = values if self.names is None else tuple(values[n] for n in self.names)
        cursor = proxied.cursor()
        try:
            cursor.execute(self.sql, parameters)
            rows = cursor.fetchall()  # all of them: no statement stays open on SQLite
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, proxied.dbapi_connection, cursor)
            if gone:
                proxied.invalidate(error)  # as SQLAlchemy does: not given back to the pool
            raise DBAPIError.instance(
                self.sql,
                parameters,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()
        make, processors = self.row, self.processors
        if not processors:
            return [make(*row) for row in rows]
        made = []
        for row in rows:
            fields = list(row)
            for i, processor in processors:
                value = fields[i]
                if value is not None:  # these types all read NULL as None
                    fields[i] = processor(value)
            made.append(make(*fields))
        return made


_ENROLMENT_BY_SIRET = select(enrolments).where(enrolments.c.siret == bindparam("siret"))
_ACCOUNT_BY_IDENTIFIER = select(accounts).where(accounts.c.identifier == bindparam("identifier"))
_ACCOUNTS_OF_SIRET = (
    select(accounts).where(accounts.c.siret == bindparam("siret")).order_by(accounts.c.seq)
)
_LINK_BY_HASH = select(links).where(links.c.token_hash == bindparam("token_hash"))
_OUTBOX_ID = select(outbox.c.id).where(outbox.c.id == bindparam("id"))
_RIGHTS_IN_ONE_QUERY = 16  # more accounts than that: the rights through ``read``


@lru_cache(maxsize=_RIGHTS_IN_ONE_QUERY)
def _rights_of(count: int) -> Select[Any]:
    """The rights of ``count`` accounts (parameters ``i0``…), in their order."""
    wanted: list[Any] = [bindparam(f"i{k}") for k in range(count)]
    return (
        select(rights.c.identifier, rights.c.service, rights.c.level)
        .where(rights.c.identifier.in_(wanted))
        .order_by(rights.c.identifier, rights.c.position)
    )


# --- writes, built once ----------------------------------------------------------------
#
# Each statement is a constant and its values travel as parameters: SQLAlchemy then
# finds it in its compiled cache at once instead of coercing every value into a new
# construct, and rows of one kind go in one ``executemany`` (one round trip on
# psycopg, in order: each row is its own INSERT, so the events' ids follow append order).
# Keys in WHERE clauses are named ``k_…`` so that they never collide with a column's.

_INSERT_ENROLMENT = insert(enrolments)
_UPDATE_ENROLMENT = update(enrolments).where(
    enrolments.c.siret == bindparam("k_siret"), enrolments.c.version == bindparam("k_version")
)
_INSERT_ACCOUNT = {
    "postgresql": insert(accounts),
    # The write lock is held (BEGIN IMMEDIATE): MAX + 1 cannot race.
    "sqlite": insert(accounts).values(
        seq=select(func.coalesce(func.max(accounts.c.seq), 0) + 1).scalar_subquery()
    ),
}
_UPDATE_ACCOUNT = update(accounts).where(
    accounts.c.identifier == bindparam("k_identifier"),
    accounts.c.version == bindparam("k_version"),
)
_INSERT_RIGHTS = insert(rights)
_DELETE_RIGHTS = delete(rights).where(rights.c.identifier == bindparam("k_identifier"))
_INSERT_EVENT = insert(events)
_INSERT_MESSAGE = insert(outbox)
# A claim commits only if the message is still due when it was claimed: unsent, not dead,
# its time come, and no other lease running on it.
_CLAIM_MESSAGE = (
    update(outbox)
    .where(outbox.c.id == bindparam("k_id"), _due_outbox(bindparam("k_claimed_at")))
    .values(claimed_until=bindparam("k_until"))
)


_INSERT_LINK = insert(links)
_UPDATE_LINK = (
    update(links)
    .where(
        links.c.token_hash == bindparam("k_token_hash"),
        links.c.version == bindparam("k_version"),
    )
    .values(
        used_at=bindparam("used_at"),
        revoked_at=bindparam("revoked_at"),
        expires_at=bindparam("expires_at"),
        version=bindparam("version"),
    )
)
_RELEASE_CHECKS = delete(password_checks).where(
    password_checks.c.identifier == bindparam("k_identifier")
)
_LINKS_OF_ACCOUNT = (
    select(links)
    .where(links.c.identifier == bindparam("identifier"), links.c.purpose == bindparam("purpose"))
    .order_by(links.c.created_at, links.c.token_hash)
)


# --- the unit of work -----------------------------------------------------------------


def _due(
    committed: Sequence[R], staged: StagedWrites[K, R], key: Callable[[R], K], at: datetime
) -> list[R]:
    """T1 with the unit of work's own writes overlaid (as the memory adapter does)."""
    seen: set[K] = {key(record) for record in committed}
    records: list[R] = staged.overlay(committed, key)
    for own in (staged.added, staged.updated):
        records.extend(record for k, record in own.items() if k not in seen)
    due: list[tuple[datetime, str, R]] = []
    for record in records:
        deadline = record.deadline
        if deadline is not None and deadline <= at:
            due.append((deadline, str(key(record)), record))
    due.sort(key=lambda item: item[:2])
    return [record for *_, record in due]


class _EnrolmentStore:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: StagedWrites[Siret, Enrolment] = StagedWrites()

    def get(self, siret: Siret) -> Enrolment | None:
        staged = self.staged.get(siret)
        if staged is not None:
            return staged
        rows = self._uow.fetch(_ENROLMENT_BY_SIRET, {"siret": siret.value})
        return _enrolment_from(rows[0]) if rows else None

    def add(self, enrolment: Enrolment) -> None:
        """Rule E6: a SIRET has at most one enrolment (the primary key, across processes)."""
        if self.get(enrolment.siret) is not None:
            raise ConflictError("enrolment exists")
        self.staged.added[enrolment.siret] = evolve(enrolment, version=1)

    def update(self, enrolment: Enrolment) -> None:
        self.staged.stage_update(enrolment.siret, enrolment, self.get(enrolment.siret))

    def due(self, at: datetime) -> Sequence[Enrolment]:
        """Rule T1: ``deadline <= at`` on the indexed column."""
        rows = self._uow.read(
            select(enrolments).where(enrolments.c.deadline <= at).order_by(enrolments.c.deadline)
        ).all()
        return _due([_enrolment_from(r) for r in rows], self.staged, _siret_of, at)

    def flush(self, connection: Connection) -> None:
        added = [{**_enrolment_values(e), "version": 1} for e in self.staged.added.values()]
        if added:
            connection.execute(_INSERT_ENROLMENT, added)
        for siret in sorted(self.staged.updated, key=str):  # one order: fewer deadlocks
            enrolment, read = self.staged.updated[siret], self.staged.expected[siret]
            done = connection.execute(
                _UPDATE_ENROLMENT,
                {
                    **_enrolment_values(enrolment),
                    "version": read + 1,
                    "k_siret": siret.value,
                    "k_version": read,
                },
            )
            if done.rowcount != 1:
                raise ConcurrentUpdateError()


def _siret_of(enrolment: Enrolment) -> Siret:
    return enrolment.siret


def _identifier_of(account: Account) -> Identifier:
    return account.identifier


class _AccountStore:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: StagedWrites[Identifier, Account] = StagedWrites()
        self.released: set[Identifier] = set()

    def get(self, identifier: Identifier) -> Account | None:
        staged = self.staged.get(identifier)
        if staged is not None:
            return staged
        found = self._fetched(_ACCOUNT_BY_IDENTIFIER, {"identifier": identifier.value})
        return found[0] if found else None

    def of_establishment(self, siret: Siret) -> Sequence[Account]:
        """Every account of the establishment, in the order they were added."""
        committed = self._fetched(_ACCOUNTS_OF_SIRET, {"siret": siret.value})
        return [
            *self.staged.overlay(committed, _identifier_of),
            *(a for a in self.staged.added.values() if a.siret == siret),
        ]

    def add(self, account: Account) -> None:
        """Rule A1: an identifier is never given twice. One staged here is refused now;
        one already stored, at commit (the primary key): identifiers come from
        ``next_number``, so asking the database first would cost every registration a
        round trip to learn what the key tells anyway."""
        if self.staged.get(account.identifier) is not None:
            raise ConflictError("identifier exists")
        self.staged.added[account.identifier] = evolve(account, version=1)

    def update(self, account: Account) -> None:
        self.staged.stage_update(account.identifier, account, self.get(account.identifier))

    def next_number(self, prefix: str) -> int:
        return self._uow.database.next_number(prefix)

    def reserve_password_check(self, identifier: Identifier, limit: int) -> bool:
        return self._uow.database.reserve_password_check(identifier, limit)

    def release_password_checks(self, identifier: Identifier) -> None:
        self.released.add(identifier)

    def due(self, at: datetime) -> Sequence[Account]:
        """Rule T1: ``deadline <= at`` on the indexed column."""
        return _due(self._load(accounts.c.deadline <= at), self.staged, _identifier_of, at)

    def _load(self, where: ColumnElement[bool]) -> list[Account]:
        rows = self._uow.read(select(accounts).where(where).order_by(accounts.c.seq)).all()
        return self._with_rights(rows)

    def _fetched(self, statement: Select[Any], values: Mapping[str, str]) -> list[Account]:
        """:meth:`_load` for the hot lookups (:meth:`SqlUnitOfWork.fetch`)."""
        return self._with_rights(self._uow.fetch(statement, values))

    def _with_rights(self, rows: Sequence[Any]) -> list[Account]:
        if not rows:
            return []
        held: dict[str, list[Right]] = {row.identifier: [] for row in rows}
        found: Iterable[Any]
        if len(held) <= _RIGHTS_IN_ONE_QUERY:
            wanted = {f"i{k}": identifier for k, identifier in enumerate(held)}
            found = self._uow.fetch(_rights_of(len(held)), wanted)
        else:
            found = self._uow.read(
                select(rights)
                .where(rights.c.identifier.in_(list(held)))
                .order_by(rights.c.identifier, rights.c.position)
            )
        for right in found:
            held[right.identifier].append(Right(right.service, AccessLevel(right.level)))
        return [_account_from(row, held[row.identifier]) for row in rows]

    def flush(self, connection: Connection, dialect: str) -> None:
        written: list[Account] = []
        for account in self.staged.added.values():  # one by one: ``seq`` on SQLite
            connection.execute(_INSERT_ACCOUNT[dialect], {**_account_values(account), "version": 1})
            written.append(account)
        for identifier in sorted(self.staged.updated, key=str):
            account, read = self.staged.updated[identifier], self.staged.expected[identifier]
            done = connection.execute(
                _UPDATE_ACCOUNT,
                {
                    **_account_values(account),
                    "version": read + 1,
                    "k_identifier": identifier.value,
                    "k_version": read,
                },
            )
            if done.rowcount != 1:
                raise ConcurrentUpdateError()
            connection.execute(_DELETE_RIGHTS, {"k_identifier": identifier.value})
            written.append(account)
        held = [right for account in written for right in _rights_values(account)]
        if held:
            connection.execute(_INSERT_RIGHTS, held)
        if self.released:
            connection.execute(
                _RELEASE_CHECKS, [{"k_identifier": i.value} for i in sorted(self.released, key=str)]
            )


class _LinkStore:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: StagedWrites[str, Link] = StagedWrites()

    def by_hash(self, token_hash: str) -> Link | None:
        """Rule A8: links are found by the hash of their token only."""
        staged = self.staged.get(token_hash)
        if staged is not None:
            return staged
        rows = self._uow.fetch(_LINK_BY_HASH, {"token_hash": token_hash})
        return _link_from(rows[0]) if rows else None

    def of_account(self, identifier: Identifier, purpose: LinkPurpose) -> Sequence[Link]:
        rows = self._uow.fetch(
            _LINKS_OF_ACCOUNT, {"identifier": identifier.value, "purpose": purpose.value}
        )
        committed = [_link_from(row) for row in rows]
        return [
            *self.staged.overlay(committed, _hash_of),
            *(
                link
                for link in self.staged.added.values()
                if link.identifier == identifier and link.purpose is purpose
            ),
        ]

    def add(self, link: Link) -> None:
        """A stored hash is refused at commit (the primary key): tokens are random."""
        if self.staged.get(link.token_hash) is not None:
            raise ConflictError("link exists")
        self.staged.added[link.token_hash] = evolve(link, version=1)

    def update(self, link: Link) -> None:
        """Rule A8: ``UPDATE … WHERE version = :read`` at commit."""
        self.staged.stage_update(link.token_hash, link, self.by_hash(link.token_hash))

    def flush(self, connection: Connection) -> None:
        if self.staged.added:
            connection.execute(
                _INSERT_LINK,
                [{**_link_values(link), "version": 1} for link in self.staged.added.values()],
            )
        for token_hash in sorted(self.staged.updated):
            link, read = self.staged.updated[token_hash], self.staged.expected[token_hash]
            done = connection.execute(_UPDATE_LINK, _link_update(link, read))
            if done.rowcount != 1:
                raise ConcurrentUpdateError()


def _hash_of(link: Link) -> str:
    return link.token_hash


class _EventStore:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: list[DomainEvent] = []

    def append(self, events_: Iterable[DomainEvent]) -> None:
        self.staged.extend(events_)

    def history(self, siret: Siret) -> Sequence[DomainEvent]:
        """Rule L1: one establishment's events, in the order they were appended."""
        rows = self._uow.read(
            select(events.c.payload).where(events.c.siret == siret.value).order_by(events.c.id)
        ).all()
        committed = [converter.loads(row.payload, DomainEvent) for row in rows]
        return committed + [e for e in self.staged if e.siret == siret.value]

    def flush(self, connection: Connection) -> None:
        if self.staged:  # executemany: one INSERT per event, in append order (L1)
            connection.execute(_INSERT_EVENT, [_event_values(e) for e in self.staged])


class _Outbox:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, OutboxMessage] = {}
        self.added: set[str] = set()
        self.claims: dict[str, tuple[datetime, datetime]] = {}  # id -> (claimed at, until)
        self.read: dict[str, _ReadState] = {}  # what this unit of work read, unclaimed

    def add(self, message: OutboxMessage) -> None:
        """Rule M3: written in the same transaction as the change that owes it. An id
        already stored is refused at commit (the primary key; ids are random)."""
        if message.id in self.staged:
            raise ConflictError("outbox message exists")
        self.staged[message.id] = message
        self.added.add(message.id)

    def get(self, message_id: str) -> OutboxMessage | None:
        staged = self.staged.get(message_id)
        if staged is not None:
            return staged
        row = self._uow.read(select(outbox).where(outbox.c.id == message_id)).first()
        return None if row is None else self._remember(_message_from(row))

    def due(self, at: datetime, limit: int) -> Sequence[OutboxMessage]:
        """Pending, ``next_attempt_at <= at``, claimed by no dispatcher; oldest first."""
        mine = [i for i, (_, until) in self.claims.items() if until > at]
        return [self._remember(m) for m in self._due(at, limit, excluded=mine, lock=False)]

    def claim(self, at: datetime, limit: int, lease: timedelta) -> Sequence[OutboxMessage]:
        """Rule M3: as :meth:`due`, and takes them until ``at + lease`` (at commit).

        On PostgreSQL the rows are also locked (``FOR UPDATE SKIP LOCKED``) until the
        commit, so a concurrent dispatcher skips them instead of conflicting. The commit
        re-checks that each is still due and nobody claimed it meanwhile
        (``ConflictError`` otherwise).
        """
        taken = []
        for message in self._due(at, limit, excluded=list(self.claims), lock=True):
            self.claims[message.id] = (at, at + lease)
            taken.append(evolve(message, claimed_until=at + lease))
        return taken

    def _due(
        self, at: datetime, limit: int, *, excluded: list[str], lock: bool
    ) -> list[OutboxMessage]:
        query = select(outbox).where(_due_outbox(at))
        if excluded:
            query = query.where(outbox.c.id.not_in(excluded))
        query = query.order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.id)
        query = query.limit(limit)
        if lock and self._uow.database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_message_from(row) for row in self._uow.read(query).all()]

    def save(self, message: OutboxMessage) -> None:
        if message.id not in self.staged and not self._exists(message.id):
            raise NotFoundError("no such outbox message")
        self.staged[message.id] = message

    def pending_count(self) -> int:
        committed = self._uow.read(
            select(func.count()).select_from(outbox).where(_pending_outbox())
        ).scalar_one()
        return int(committed) + self._staged_count(dead=False)

    def dead_count(self) -> int:
        committed = self._uow.read(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.sent_at.is_(None), outbox.c.dead_at.is_not(None))
        ).scalar_one()
        return int(committed) + self._staged_count(dead=True)

    def _staged_count(self, *, dead: bool) -> int:
        staged = (self.staged[i] for i in self.added)
        return sum(1 for m in staged if m.sent_at is None and (m.dead_at is not None) is dead)

    def dead_letters(self, limit: int | None = None) -> Sequence[OutboxMessage]:
        query = (
            select(outbox)
            .where(outbox.c.sent_at.is_(None), outbox.c.dead_at.is_not(None))
            .order_by(outbox.c.dead_at, outbox.c.created_at, outbox.c.id)
            .limit(limit)
        )
        return [self._remember(_message_from(row)) for row in self._uow.read(query).all()]

    def _remember(self, message: OutboxMessage) -> OutboxMessage:
        self.read[message.id] = (message.attempts, message.sent_at, message.dead_at)
        return message

    def _exists(self, message_id: str) -> bool:
        return bool(self._uow.fetch(_OUTBOX_ID, {"id": message_id}))

    def flush(self, connection: Connection) -> None:
        for message_id in sorted(self.claims):
            claimed_at, until = self.claims[message_id]
            done = connection.execute(
                _CLAIM_MESSAGE, {"k_id": message_id, "k_claimed_at": claimed_at, "k_until": until}
            )
            if done.rowcount != 1:
                raise ConflictError("another dispatcher claimed this message")
        if self.added:
            connection.execute(
                _INSERT_MESSAGE,  # in the order they were added (``staged`` keeps it)
                [_message_values(m) for i, m in self.staged.items() if i in self.added],
            )
        for message_id in sorted(set(self.staged) - self.added):
            self._flush_save(connection, self.staged[message_id])

    def _flush_save(self, connection: Connection, message: OutboxMessage) -> None:
        """One guarded save (see :func:`_save_message`); ``ConflictError`` when its guard
        no longer holds."""
        values = _message_values(message)
        del values["id"]
        parameters: dict[str, object] = {**values, "k_id": message.id}
        delivery = message.sent_at is not None
        claimed = message.claimed_until is not None
        read = None if claimed else self.read.get(message.id)
        if claimed and not delivery:
            parameters["k_claimed_until"] = message.claimed_until
        if read is not None:
            attempts, sent_at, dead_at = read
            parameters["k_attempts"] = attempts
            if sent_at is not None:
                parameters["k_sent_at"] = sent_at
            if dead_at is not None:
                parameters["k_dead_at"] = dead_at
        statement = _save_message(
            delivery,
            claimed and not delivery,
            None if read is None else (read[1] is None, read[2] is None),
        )
        if connection.execute(statement, parameters).rowcount != 1:
            raise ConflictError("the outbox message changed meanwhile")


class SqlUnitOfWork:
    """One use case's transaction over a :class:`SqlDatabase` (see the module docstring)."""

    def __init__(self, database: SqlDatabase) -> None:
        self.database = database
        # The pooled driver connection, taken at the first read and given back at the
        # end; wrapped in a SQLAlchemy ``Connection`` only when a statement needs one
        # (``read``, ``commit``). Then ``_connection`` owns ``_raw``.
        self._raw: PoolProxiedConnection | None = None
        self._connection: Connection | None = None
        self._locked = False
        self._outer: SqlUnitOfWork | None = None  # the thread's unit of work before this one
        self.enrolments = _EnrolmentStore(self)
        self.accounts = _AccountStore(self)
        self.links = _LinkStore(self)
        self.events = _EventStore(self)
        self.outbox = _Outbox(self)

    def __enter__(self) -> Self:
        self._close()
        lock = self.database._memory_lock
        if lock is not None:
            lock.acquire()
            self._locked = True
        opened = self.database._open
        self._outer = getattr(opened, "uow", None)
        opened.uow = self
        return self  # ``_close`` cleared what an earlier use staged

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._close()
        finally:
            self.database._open.uow, self._outer = self._outer, None

    # --- reading ----------------------------------------------------------------------

    def read(self, statement: Any, parameters: Mapping[str, object] | None = None) -> Any:
        """Runs a query on this unit of work's connection (opened at the first read).

        SQLite reads run without ``BEGIN``: each statement sees the latest commit, as
        the memory adapter's reads do. PostgreSQL reads share one READ COMMITTED
        transaction, which takes no row lock.
        """
        connection = self._connect()
        with _translated():
            return connection.execute(statement, parameters)

    def fetch(self, statement: Select[Any], values: Mapping[str, str]) -> list[Any]:
        """:meth:`read` for the hot lookups: the statement compiled once (:class:`_Query`),
        on the same connection, in the same transaction; the rows as named tuples."""
        database = self.database
        dialect = database.engine.dialect
        query = database._queries.get(statement)
        if query is None:
            query = database._queries[statement] = _Query(statement, dialect)
        try:
            return query.run(self.driver_connection(), dialect, values)
        except DBAPIError:
            with _translated():  # only on failure: the context manager costs a little
                raise

    def driver_connection(self) -> PoolProxiedConnection:
        """This unit of work's pooled driver connection (taken now if not yet), for
        statements run on the driver's own cursor, in this unit of work's transaction.

        Raises SQLAlchemy's ``DBAPIError`` when no connection can be had.
        """
        connection = self._connection
        if connection is not None:
            if not connection.in_transaction():
                connection.begin()  # as ``execute`` would (on SQLite: no BEGIN sent)
            return connection.connection
        raw = self._raw
        if raw is None:
            raw = self._raw = self._checkout()
        # No SQLAlchemy transaction: on SQLite (driver autocommit) none is begun, as
        # with ``read``; on PostgreSQL the driver begins its own, which ``commit``,
        # ``rollback`` and the return to the pool end, as before.
        return raw

    def _checkout(self) -> PoolProxiedConnection:
        dialect = self.database.engine.dialect
        try:
            return self.database.engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # as ``Engine.connect`` reports it
            raise DBAPIError.instance(
                None, None, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error

    def _connect(self) -> Connection:
        connection = self._connection
        if connection is None:
            with _translated():
                if self._raw is None:
                    self._raw = self._checkout()
                connection = Connection(self.database.engine, self._raw)
            if self.database.dialect == "sqlite":
                connection.execution_options(**{_SQLITE_BEGIN: _READ_ONLY})
            self._connection = connection
        return connection

    # --- transaction ------------------------------------------------------------------

    def commit(self) -> None:
        """Applies every staged write in one transaction, or none of them."""
        database = self.database
        connection = self._connect()
        if database.dialect == "sqlite":
            connection.rollback()  # ends the read phase, which held no transaction
            connection.execution_options(**{_SQLITE_BEGIN: _WRITE})
        try:
            with _translated():
                if not connection.in_transaction():
                    connection.begin()
                self.enrolments.flush(connection)
                self.accounts.flush(connection, database.dialect)
                self.links.flush(connection)
                self.events.flush(connection)
                self.outbox.flush(connection)
                connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if database.dialect == "sqlite":
                connection.execution_options(**{_SQLITE_BEGIN: _READ_ONLY})
        self._clear()

    def rollback(self) -> None:
        self._clear()
        if self._connection is not None:
            self._connection.rollback()
        elif self._raw is not None:
            with _translated():
                self._raw.rollback()  # what reads began on PostgreSQL (nothing on SQLite)

    def _clear(self) -> None:
        self.enrolments.staged.clear()
        self.accounts.staged.clear()
        self.links.staged.clear()
        self.accounts.released.clear()
        self.events.staged.clear()
        self.outbox.staged.clear()
        self.outbox.added.clear()
        self.outbox.claims.clear()
        self.outbox.read.clear()

    def _close(self) -> None:
        self._clear()
        connection, self._connection = self._connection, None
        raw, self._raw = self._raw, None
        try:
            if connection is not None:
                connection.close()  # rolls back whatever was not committed
            elif raw is not None:
                raw.close()  # back to the pool, which rolls it back
        finally:
            if self._locked and self.database._memory_lock is not None:
                self._locked = False
                self.database._memory_lock.release()
