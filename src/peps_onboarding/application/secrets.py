"""The platform's secret key: link tokens derived from stored nonces, and signed tickets.

Why derive tokens: an owed e-mail or letter waits in the outbox until delivered, and
the outbox is at rest. It keeps a random nonce; the raw token is
``HMAC-SHA256(key, nonce)``, computed again at delivery. The stores hold only the nonce
and the token's SHA-256, so reading the database gives no usable link (rule M4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["PlatformSecret"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PlatformSecret:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the platform secret must hold at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "PlatformSecret(***)"

    def _mac(self, purpose: bytes, data: bytes) -> bytes:
        return hmac.new(self._key, purpose + b"\x00" + data, hashlib.sha256).digest()

    def token_for(self, nonce_hex: str) -> str:
        """The link token (256 bits, URL-safe) for a nonce kept in the outbox."""
        return _b64(self._mac(b"link-token", bytes.fromhex(nonce_hex)))

    def sign(self, payload: str) -> str:
        return _b64(self._mac(b"ticket", payload.encode("utf-8")))

    def verify(self, payload: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(payload), signature)
