"""Validators shared by the settings of the HTTP adapters (Net-Entreprises, Sirene)."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

__all__ = ["is_secure_url", "positive"]

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def is_secure_url(_instance: object, _attribute: object, value: str) -> None:
    """Credentials cross this URL: HTTPS, or plain HTTP to this machine only (tests)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ValueError(f"base_url must be an https:// URL, got {value!r}")


def positive(_instance: object, attribute: object, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be positive")
