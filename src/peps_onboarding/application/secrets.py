"""The platform's secret keys: link tokens derived from stored nonces, and signed tickets.

Why derive tokens: an owed e-mail or letter waits in the outbox until delivered, and
the outbox is at rest. It keeps a random nonce; the raw token is
``HMAC-SHA256(key, nonce)``, computed again at delivery. The stores hold only the nonce
and the token's SHA-256, so reading the database gives no usable link (rule M4).

Rotation: a :class:`PlatformSecret` holds the current key, which signs, and the
previous ones, which still verify. A nonce issued by :meth:`PlatformSecret.new_nonce`
starts with a short tag of the key that issued it, so the token delivered later is
derived with that same key, even by a process whose current key is already the next
one; the link store's lookup by the token's hash then needs no change. A
Net-Entreprises ticket signed with a previous key still verifies.

Withdrawal codes (rule P4): the legal representative's code is typed from paper, so it
is short, 60 bits (:meth:`PlatformSecret.withdrawal_code_for`). 60 bits stored as a plain
SHA-256 could be found offline by trying them all against a copy of the database, so
the code is stored as an HMAC under the key that issued its nonce
(:meth:`PlatformSecret.code_hash_for`), and looked up under every key, current and
previous (:meth:`PlatformSecret.code_hashes`): a rotation leaves letters in the post
valid.

One secret per database: :func:`claim_database` compares the fingerprint of the keys
(an HMAC of a fixed label under each key, never the key) with the one the database
recorded at first use, and refuses a process whose keys do not include it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol

from ..domain.links import withdrawal_code

__all__ = [
    "PlatformSecret",
    "SecretFingerprintStore",
    "SecretMismatchError",
    "claim_database",
]

_TAG_BYTES = 4  # the prefix of a tagged nonce that names its key
_NONCE_BYTES = 32  # the random part of a nonce


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _Key:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the platform secret must hold at least 32 bytes")
        self.key = key
        self.tag = self.mac(b"nonce-tag", b"")[:_TAG_BYTES]
        self.fingerprint = self.mac(b"fingerprint", b"peps-onboarding platform secret").hex()

    def mac(self, purpose: bytes, data: bytes) -> bytes:
        return hmac.new(self.key, purpose + b"\x00" + data, hashlib.sha256).digest()


class PlatformSecret:
    """The current key (``key``: signs, issues nonces) and ``previous`` ones (verify)."""

    def __init__(self, key: bytes, *, previous: Iterable[bytes] = ()) -> None:
        keys = [_Key(key)]
        for old in previous:
            if all(old != known.key for known in keys):
                keys.append(_Key(old))
        self._keys = tuple(keys)

    def __repr__(self) -> str:
        previous = len(self._keys) - 1
        return f"PlatformSecret(***, previous={previous})" if previous else "PlatformSecret(***)"

    @property
    def fingerprint(self) -> str:
        """The current key's fingerprint (hex): safe to store and to compare, never the key."""
        return self._keys[0].fingerprint

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every key's fingerprint, the current one first."""
        return tuple(key.fingerprint for key in self._keys)

    def new_nonce(self, random_part: bytes) -> str:
        """A nonce for the outbox (hex): the current key's tag, then ``random_part``."""
        return (self._keys[0].tag + random_part).hex()

    def _issuer(self, nonce: bytes) -> _Key:
        if len(nonce) == _TAG_BYTES + _NONCE_BYTES:
            for key in self._keys:
                if hmac.compare_digest(key.tag, nonce[:_TAG_BYTES]):
                    return key
        return self._keys[0]  # an untagged nonce (issued before rotation existed)

    def token_for(self, nonce_hex: str) -> str:
        """The link token (256 bits, URL-safe) for a nonce kept in the outbox, derived
        with the key that issued the nonce."""
        nonce = bytes.fromhex(nonce_hex)
        return _b64(self._issuer(nonce).mac(b"link-token", nonce))

    def withdrawal_code_for(self, nonce_hex: str) -> str:
        """Rule P4: the letter's withdrawal code (``K7QM-3XHD-9PVA``) for a nonce kept in the
        outbox, derived with the key that issued the nonce, like a link token."""
        nonce = bytes.fromhex(nonce_hex)
        return withdrawal_code(self._issuer(nonce).mac(b"withdrawal-code", nonce))

    def code_hash_for(self, nonce_hex: str) -> str:
        """Rule P4: what the link store keeps of that code: its keyed hash under the key
        that issued the nonce (a plain hash of 60 bits would fall to an offline search)."""
        nonce = bytes.fromhex(nonce_hex)
        issuer = self._issuer(nonce)
        code = withdrawal_code(issuer.mac(b"withdrawal-code", nonce))
        return _code_hash(issuer, code.replace("-", ""))

    def code_hashes(self, symbols: str) -> tuple[str, ...]:
        """Rule P4: the keyed hash of a typed code (its 12 symbols, normalised) under every
        key, the current one first: a code printed before a rotation is found too."""
        return tuple(_code_hash(key, symbols) for key in self._keys)

    def digest(self, purpose: str, value: str) -> str:
        """An opaque, stable name for ``value`` (hex): a keyed digest under the current
        key, so that what holds it (a rate-limit counter) learns nothing of ``value``."""
        data = value.encode("utf-8", "surrogatepass")
        return self._keys[0].mac(purpose.encode("ascii"), data)[:16].hex()

    def sign(self, payload: str) -> str:
        return _b64(self._keys[0].mac(b"ticket", payload.encode("utf-8")))

    def verify(self, payload: str, signature: str) -> bool:
        """True when any of the keys, current or previous, made ``signature``."""
        data = payload.encode("utf-8")
        matched = False
        for key in self._keys:  # every key is tried: the time does not say which matched
            matched |= hmac.compare_digest(_b64(key.mac(b"ticket", data)), signature)
        return matched


def _code_hash(key: _Key, symbols: str) -> str:
    return key.mac(b"withdrawal-code-hash", symbols.encode("ascii")).hex()


class SecretFingerprintStore(Protocol):
    """Where a database keeps the fingerprint of the secret it is used with."""

    def secret_fingerprint(self) -> str | None: ...

    def record_secret_fingerprint(self, fingerprint: str, *, replacing: str | None) -> bool:
        """Records ``fingerprint`` if the stored one is still ``replacing`` (``None``:
        none yet); False when another process changed it first."""
        ...


class SecretMismatchError(Exception):
    """The database was first used with another secret than any of this process's."""

    def __init__(self) -> None:
        super().__init__(
            "cette base de données est utilisée avec un autre secret que PEPS_SECRET : "
            "donnez à ce processus le même PEPS_SECRET que les autres instances "
            "(ou, pendant une rotation, l'ancien dans PEPS_PREVIOUS_SECRETS)"
        )


def claim_database(store: SecretFingerprintStore, secret: PlatformSecret) -> None:
    """At start-up: one secret per database.

    The first process records its current key's fingerprint. A later one starts when
    one of its keys has the recorded fingerprint, and then records its current key's
    (a rotation moves forward); otherwise :class:`SecretMismatchError`, since its links
    and tickets would be refused by every other instance.
    """
    for _ in range(5):  # each turn lost means another process recorded in between
        recorded = store.secret_fingerprint()
        if recorded == secret.fingerprint:
            return
        if recorded is not None and recorded not in secret.fingerprints:
            raise SecretMismatchError()
        if store.record_secret_fingerprint(secret.fingerprint, replacing=recorded):
            return
    raise SecretMismatchError()  # it keeps changing under us: not one secret
