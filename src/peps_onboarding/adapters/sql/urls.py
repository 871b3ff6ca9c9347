"""Database URLs: how to show them, and where a SQLite one keeps its file.

A SQLAlchemy URL can carry a password (``postgresql://pep:secret@db/pep``, or
``?password=`` for psycopg); :func:`mask_url` is the one way to print one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["mask_url", "sqlite_file"]

_MASK: Final = "***"
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Query parameters that may hold a secret (psycopg's ``password``, ``sslpassword``…).
_SECRET_KEY: Final = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with its password (and any secret-looking query value) as ``***``.

    Whatever is given, no password comes out: text SQLAlchemy cannot parse, or parses
    only by guessing (a second ``@``, i.e. a password with an unescaped ``@``), keeps
    its scheme at most.

    >>> mask_url("postgresql+psycopg://pep:s3cret@db.example:5432/pep")
    'postgresql+psycopg://pep:***@db.example:5432/pep'
    >>> mask_url("postgresql://pep@db/pep?password=s3cret&sslmode=require")
    'postgresql://pep@db/pep?password=***&sslmode=require'
    >>> mask_url("postgresql://pep:p@ss@db/pep")
    'postgresql://***'
    >>> mask_url("host=db password=s3cret")
    '***'
    >>> mask_url("sqlite:///var/lib/pep/onboarding.db")
    'sqlite:///var/lib/pep/onboarding.db'
    """
    if url.count("@") > 1:
        return _unreadable(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _unreadable(url)
    secrets = {key: _MASK for key in parsed.query if _SECRET_KEY.search(key)}
    if parsed.password is None and not secrets:
        return url  # nothing to hide: as typed (a rendered SQLite path is percent-encoded)
    if secrets:
        parsed = parsed.update_query_dict(secrets)
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", _MASK)


def _unreadable(url: str) -> str:
    """No way to tell the password from the rest: only the scheme is safe to show."""
    scheme = _SCHEME.match(url)
    return f"{scheme.group(0)}{_MASK}" if scheme else _MASK


def sqlite_file(database: str, *, uri: bool) -> Path | None:
    """The file SQLite opens (and creates if missing) for the ``database`` argument
    pysqlite receives; ``None`` when it opens none (in memory) or creates none (read-only).
    """
    if not uri:
        return None if database in ("", ":memory:") else Path(database)
    parts = urlsplit(database)
    if parts.scheme != "file":
        return None if database in ("", ":memory:") else Path(database)
    mode = parse_qs(parts.query).get("mode", ["rwc"])[-1]
    path = unquote(parts.path)
    if mode != "rwc" or path in ("", ":memory:"):
        return None
    return Path(path)
