"""Single-use links: password creation, password reset, withdrawal (rules A8, C6, A5, C9).

A link is stored only as the SHA-256 of its token. Tokens carry 256 bits of secret
material, so a fast hash suffices; lookups go by hash, and the final comparison is
constant-time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime

from attrs import evolve, frozen

from .values import Identifier, Siret

__all__ = ["Link", "LinkPurpose", "hash_token"]


class LinkPurpose(enum.Enum):
    PASSWORD_CREATION = "password_creation"
    PASSWORD_RESET = "password_reset"
    WITHDRAWAL_BY_APPLICANT = "withdrawal_by_applicant"
    WITHDRAWAL_BY_LEGAL_REPRESENTATIVE = "withdrawal_by_legal_representative"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@frozen(kw_only=True)
class Link:
    token_hash: str
    purpose: LinkPurpose
    identifier: Identifier
    siret: Siret
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, hash_token(token))

    def usable(self, at: datetime) -> bool:
        """Rule A8: unused, not replaced, not expired."""
        return self.used_at is None and self.revoked_at is None and at < self.expires_at

    def use(self, at: datetime) -> Link:
        return evolve(self, used_at=at)

    def revoke(self, at: datetime) -> Link:
        return self if self.revoked_at or self.used_at else evolve(self, revoked_at=at)
