"""The settings a database keeps about itself: the fingerprint of its platform secret.

One row per key in ``platform_settings`` (revision 0005). The fingerprint is an HMAC
of a fixed label under the secret, never the secret: reading it tells nothing about
the key, but a process started with another secret can see that it is another
(:func:`peps_onboarding.application.secrets.claim_database`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import insert, select, update

from ...domain.errors import ConflictError
from .stores import SqlDatabase
from .tables import platform_settings

__all__ = ["SECRET_FINGERPRINT", "SqlSettings"]

SECRET_FINGERPRINT: Final = "secret_fingerprint"


class SqlSettings:
    """``platform_settings`` of a :class:`SqlDatabase` (schema at revision 0005 or later)."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    def get(self, key: str) -> str | None:
        with self._database.write() as connection:
            value: str | None = connection.execute(
                select(platform_settings.c.value).where(platform_settings.c.key == key)
            ).scalar_one_or_none()
        return value

    def replace(self, key: str, value: str, *, expected: str | None) -> bool:
        """Sets ``key`` to ``value`` if it still holds ``expected`` (``None``: absent);
        False when another writer got there first."""
        table = platform_settings
        try:
            with self._database.write() as connection:
                if expected is None:
                    connection.execute(insert(table).values(key=key, value=value))
                    return True
                changed = connection.execute(
                    update(table)
                    .where(table.c.key == key, table.c.value == expected)
                    .values(value=value)
                ).rowcount
                return bool(changed)
        except ConflictError:  # the key was inserted by someone else meanwhile
            return False

    # --- the port of application.secrets ------------------------------------------

    def secret_fingerprint(self) -> str | None:
        return self.get(SECRET_FINGERPRINT)

    def record_secret_fingerprint(self, fingerprint: str, *, replacing: str | None) -> bool:
        return self.replace(SECRET_FINGERPRINT, fingerprint, expected=replacing)
