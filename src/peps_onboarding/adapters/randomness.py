"""Random sources: the operating system's, and a seeded one for reproducible tests and demos."""

from __future__ import annotations

import random
import secrets

__all__ = ["SeededRandomSource", "SystemRandomSource"]


class SystemRandomSource:
    """``secrets.token_bytes``: the operating system's CSPRNG."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class SeededRandomSource:
    """Reproducible bytes for tests and the demo. Predictable: never in production."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)  # noqa: S311 - reproducibility is the point

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)
