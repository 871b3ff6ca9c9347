"""Single-use links: password creation, password reset, withdrawal (rules A8, C6, A5, C9),
and the spent Net-Entreprises sign-in tickets (N3, N4: one ticket makes one account).

A link is stored only as the SHA-256 of its token. Tokens carry 256 bits of secret
material, so a fast hash suffices; lookups go by hash, and the final comparison is
constant-time. A link's moves are in :data:`LINK_MOVES`: issued → used, or issued →
revoked; a used or revoked link is closed and no move leaves it. Using a link is a
versioned write (``version``), so of two uses racing on one link exactly one commits.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime
from typing import Final

from attrs import evolve, frozen

from .errors import TransitionNotAllowedError
from .events import Actor, LinkIssued
from .transition import Transition
from .values import Identifier, Siret

__all__ = ["LINK_MOVES", "Link", "LinkPurpose", "LinkStatus", "hash_token"]


class LinkPurpose(enum.Enum):
    PASSWORD_CREATION = "password_creation"
    PASSWORD_RESET = "password_reset"
    WITHDRAWAL_BY_APPLICANT = "withdrawal_by_applicant"
    WITHDRAWAL_BY_LEGAL_REPRESENTATIVE = "withdrawal_by_legal_representative"
    # Not a link anyone follows: the record that a sign-in ticket was spent (N3, N4).
    NET_ENTREPRISES_TICKET = "net_entreprises_ticket"


class LinkStatus(enum.Enum):
    ISSUED = "issued"
    USED = "used"
    REVOKED = "revoked"


# Rule A8: the only moves a link has. Anything else raises TransitionNotAllowedError.
LINK_MOVES: Final[dict[str, frozenset[LinkStatus]]] = {
    "use": frozenset({LinkStatus.ISSUED}),
    "revoke": frozenset({LinkStatus.ISSUED}),
}


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
    version: int = 0

    @classmethod
    def issue(
        cls,
        *,
        token_hash: str,
        purpose: LinkPurpose,
        identifier: Identifier,
        siret: Siret,
        at: datetime,
        expires_at: datetime,
    ) -> Transition[Link]:
        """A new link, and the fact that it was issued (L1)."""
        link = cls(
            token_hash=token_hash,
            purpose=purpose,
            identifier=identifier,
            siret=siret,
            created_at=at,
            expires_at=expires_at,
        )
        event = LinkIssued(
            at=at,
            siret=siret.value,
            account=identifier.value,
            actor=Actor.SYSTEM,
            purpose=purpose.value,
            expires_at=expires_at,
        )
        return Transition(link, (event,))

    @classmethod
    def spent_ticket(
        cls, *, token_hash: str, identifier: Identifier, siret: Siret, at: datetime
    ) -> Link:
        """Rules N3, N4: a Net-Entreprises ticket, spent by the account it made. Its hash
        is the key, so a second account from the same ticket cannot commit."""
        return cls(
            token_hash=token_hash,
            purpose=LinkPurpose.NET_ENTREPRISES_TICKET,
            identifier=identifier,
            siret=siret,
            created_at=at,
            expires_at=at,
            used_at=at,
        )

    @property
    def status(self) -> LinkStatus:
        if self.used_at is not None:
            return LinkStatus.USED
        if self.revoked_at is not None:
            return LinkStatus.REVOKED
        return LinkStatus.ISSUED

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token_hash, hash_token(token))

    def usable(self, at: datetime) -> bool:
        """Rule A8: unused, not replaced, not expired."""
        return self.status is LinkStatus.ISSUED and at < self.expires_at

    def _move(self, action: str) -> None:
        if self.status not in LINK_MOVES[action]:
            raise TransitionNotAllowedError(self.status.value, f"{action} link")

    def use(self, at: datetime) -> Transition[Link]:
        """Rule A8: single use. Using a link past its end is refused like a closed one."""
        self._move("use")
        if at >= self.expires_at:
            raise TransitionNotAllowedError("expired", "use link")
        return Transition(evolve(self, used_at=at))

    def revoke(self, at: datetime) -> Transition[Link]:
        """Rule A8: a newer link of the same purpose replaces this one."""
        self._move("revoke")
        return Transition(evolve(self, revoked_at=at))
