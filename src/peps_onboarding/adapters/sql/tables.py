"""The stores' tables: enrolments, accounts and rights, links, events, the outbox (L1, M3).

They live on the shared :data:`~peps_onboarding.adapters.sql.metadata.metadata` with
the directory's tables, so one Alembic history covers the whole schema. This module
describes the schema at the head revision; the migrations in ``migrations/versions``
are what creates it.

No raw secret is stored here: links keep the SHA-256 of their token (A8), the outbox
keeps the random nonces that tokens are derived from with the platform's secret
(M4), and accounts keep only the Argon2id hash of a password (A3).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

# Rule C4: addresses as typed; the letter fits them to 38 characters, not the schema.
from ...domain.values import ADDRESS_LINE_MAX_LENGTH, CITY_MAX_LENGTH
from .metadata import UtcDateTime, metadata

__all__ = [
    "accounts",
    "enrolments",
    "events",
    "identifier_counters",
    "links",
    "outbox",
    "password_checks",
    "platform_settings",
    "rights",
    "store_tables",
]

enrolments = Table(
    "enrolments",
    metadata,
    # E6: the primary key makes "one enrolment per SIRET" hold across processes.
    Column("siret", String(14), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("path", String(20)),
    Column("applicant", String(9)),
    Column("submitted_at", UtcDateTime),
    Column("access_from", UtcDateTime),
    Column("enrolled_at", UtcDateTime),
    # T1: ``Enrolment.deadline``, kept in step with the record for the sweep's index.
    Column("deadline", UtcDateTime, index=True),
    Column("version", Integer, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("identifier", String(9), primary_key=True),  # A1: never given twice
    Column("siret", String(14), nullable=False),
    # "In the order they were added": an identity column on PostgreSQL, MAX + 1 inside
    # the (serialised) write transaction on SQLite.
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("profile", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("civility", String(8), nullable=False),
    Column("last_name", String(64), nullable=False),
    Column("first_name", String(64), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(10), nullable=False),
    Column("service_function", String(100), nullable=False),
    Column("street", String(ADDRESS_LINE_MAX_LENGTH), nullable=False),
    Column("postal_code", String(5), nullable=False),
    Column("city", String(CITY_MAX_LENGTH), nullable=False),
    Column("address_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("identification_complement", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("locality", String(ADDRESS_LINE_MAX_LENGTH)),
    Column("net_entreprises", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_hash", String(255)),
    Column("failed_logins", Integer, nullable=False),
    Column("activation_deadline", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("last_login_at", UtcDateTime),
    # T1: ``Account.deadline`` (creation-link end while pending, expiry while active).
    Column("deadline", UtcDateTime, index=True),
    Column("version", Integer, nullable=False),
    Index("ix_accounts_siret_seq", "siret", "seq"),
)

rights = Table(
    "rights",
    metadata,
    Column("identifier", String(9), ForeignKey("accounts.identifier"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("level", String(20), nullable=False),
    # ``Account.rights`` is an ordered tuple: its order is kept.
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("identifier", "service"),
)

identifier_counters = Table(
    "identifier_counters",
    metadata,
    Column("prefix", String(3), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # A8: the hash, never the token
    Column("purpose", String(40), nullable=False),
    Column("identifier", String(9), nullable=False, index=True),
    Column("siret", String(14), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    # A8: using a link is a versioned write, so it succeeds once.
    Column("version", Integer, nullable=False, server_default=text("1")),
)

# A4: the password-check slots an account's logins hold or have spent on failures,
# taken in transactions of their own (like the identifier counters).
password_checks = Table(
    "password_checks",
    metadata,
    Column("identifier", String(9), primary_key=True),
    Column("taken", Integer, nullable=False),
)

events = Table(
    "events",
    metadata,
    # L1: the id is the order of the history.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("siret", String(14), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("account", String(9)),
    Column("actor", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # the whole event, JSON, through ``converter``
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(64), primary_key=True),  # also the idempotency key of delivery
    Column("siret", String(14), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("last_error", Text),
    # Revision 0002: a worker's lease on the message (see ``SqlDatabase.claim_due_outbox``).
    Column("claimed_until", UtcDateTime),
    # Revision 0005: when the message was given up on (a dead letter); no longer due.
    Column("dead_at", UtcDateTime),
    Column("payload", Text, nullable=False),  # the notification, JSON, through ``converter``
    # Revision 0002: what ``due`` and ``pending_count`` read, the unsent messages only.
    Index(
        "ix_outbox_unsent",
        "next_attempt_at",
        "created_at",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
)

# Revision 0005: settings the database keeps, one row per key (the secret's fingerprint).
platform_settings = Table(
    "platform_settings",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

store_tables = (
    enrolments,
    accounts,
    rights,
    identifier_counters,
    password_checks,
    platform_settings,
    links,
    events,
    outbox,
)
