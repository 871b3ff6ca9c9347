"""Single-use links: password creation, password reset, withdrawal (rules A8, C6, A5, C9),
and the spent Net-Entreprises sign-in tickets (N3, N4: one ticket makes one account).

A link is stored only as the SHA-256 of its token. Tokens carry 256 bits of secret
material, so a fast hash suffices; lookups go by hash, and the final comparison is
constant-time. The legal representative's withdrawal link is the exception (P4): it is
a short code typed from the letter (:func:`withdrawal_code`, :func:`normalise_code`),
whose 60 bits a plain hash would not protect at rest, so it is stored under a keyed
hash (:meth:`PlatformSecret.code_hash_for`).

A link's moves are in :data:`LINK_MOVES`: issued → used, or issued → revoked; a used or
revoked link is closed and no move leaves it. Using a link is a versioned write
(``version``), so of two uses racing on one link exactly one commits.
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

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "LINK_MOVES",
    "Link",
    "LinkPurpose",
    "LinkStatus",
    "hash_token",
    "normalise_code",
    "withdrawal_code",
]


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


# Rule P4: Crockford's base32, without I, L, O and U, so that a code read from paper has
# no letter that looks like a digit (or, for U, spells a word by accident).
CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH: Final = 12  # 12 symbols of 5 bits: 60 random bits
_CODE_GROUP = 4
_LOOK_ALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
# What a person may type between the groups: spaces of any kind and dashes of any kind.
_SEPARATORS: Final = frozenset(" \t\u00a0\u202f\u2009-\u2010\u2011\u2012\u2013\u2014\u2212")


def withdrawal_code(material: bytes) -> str:
    """Rule P4: the first 60 bits of ``material`` as a code a person can type from paper,
    grouped by four (``K7QM-3XHD-9PVA``)."""
    if len(material) * 8 < CODE_LENGTH * 5:
        raise ValueError("a withdrawal code needs at least 60 bits")
    number = int.from_bytes(material, "big") >> (len(material) * 8 - CODE_LENGTH * 5)
    symbols = "".join(
        CODE_ALPHABET[(number >> (5 * (CODE_LENGTH - 1 - i))) & 31] for i in range(CODE_LENGTH)
    )
    return "-".join(symbols[i : i + _CODE_GROUP] for i in range(0, CODE_LENGTH, _CODE_GROUP))


def normalise_code(typed: object) -> str | None:
    """Rule P4: what a person typed, as the code's 12 symbols (``K7QM3XHD9PVA``), or
    ``None`` when it cannot be a withdrawal code.

    Case does not matter, spaces and hyphens are ignored, and the look-alikes Crockford
    excludes are read as the digits they resemble (O → 0, I and L → 1). Only ASCII
    letters and digits count: a digit of another script is refused, never mapped (E1).
    """
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    kept = "".join(char for char in typed if char not in _SEPARATORS)
    if not kept.isascii():
        return None
    symbols = kept.upper().translate(_LOOK_ALIKES)
    if len(symbols) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in symbols):
        return None
    return symbols


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
