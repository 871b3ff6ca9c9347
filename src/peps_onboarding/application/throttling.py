"""Rule P1: the gates an anonymous use case passes before doing any work, and P3.

A gate is one rate limit on one key: a *target* (what the request names: an
identifier, a SIRET, an e-mail address) or a *source* (the client address the host
passes). Keys are keyed digests (:meth:`PlatformSecret.digest`), so the throttle's
storage holds no identifier, address or e-mail in clear. A host that passes no client
address gets the target limits only.

:func:`admit` counts a use on every gate, or none: it first tests them all, so a
request refused by one limit uses up nothing of the others. :func:`refuse_if_spent`
and :func:`count` split the two for logins, where only failures count (P3).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from datetime import timedelta

from attrs import frozen

from ..domain.errors import TooManyAttemptsError
from ..domain.throttling import RateLimit
from .dependencies import Dependencies

__all__ = ["Gate", "admit", "count", "refuse_if_spent", "source", "target"]

_IPV6_BLOCK = 64  # one host usually holds a whole /64 (RFC 6177)


@frozen
class Gate:
    limit: RateLimit
    key: str


def target(deps: Dependencies, limit: RateLimit, kind: str, value: str) -> Gate:
    """A gate on what the request names; ``value`` is compared case- and
    accent-insensitively (``JDU000001`` and ``jdu000001`` are one target)."""
    return Gate(limit, f"{kind}:{deps.secret.digest('throttle', _folded(value))}")


def _folded(value: str) -> str:
    # Bounded first: a hostile megabyte costs no more than a real identifier.
    return unicodedata.normalize("NFKC", value[:256]).strip().casefold()


def source(
    deps: Dependencies, limit: RateLimit, kind: str, client: str | None, *, about: str = ""
) -> Gate | None:
    """A gate on the client address (and, with ``about``, on what it names from there),
    or ``None`` when the host passed none."""
    if client is None:
        return None
    name = _source_name(client) + "\x1f" + _folded(about)
    return Gate(limit, f"{kind}:src:{deps.secret.digest('throttle', name)}")


def _source_name(client: str) -> str:
    text = str(client).strip()[:100]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text.casefold()  # not an address (a host's own label): counted as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{_IPV6_BLOCK}", strict=False))
    return str(address)


def _refused(waits: list[timedelta | None]) -> TooManyAttemptsError | None:
    spent = [wait for wait in waits if wait is not None]
    return TooManyAttemptsError(max(spent)) if spent else None


def refuse_if_spent(deps: Dependencies, *gates: Gate | None) -> None:
    """Raises :class:`TooManyAttemptsError` if any gate's limit is reached (counts
    nothing)."""
    refused = _refused([deps.throttle.test(g.limit, g.key) for g in gates if g is not None])
    if refused is not None:
        raise refused


def count(deps: Dependencies, *gates: Gate | None) -> None:
    """Counts one use on every gate (a failed login: P3)."""
    for gate in gates:
        if gate is not None:
            deps.throttle.hit(gate.limit, gate.key)


def admit(deps: Dependencies, *gates: Gate | None) -> None:
    """Rule P1: counts one use on every gate, or raises :class:`TooManyAttemptsError`
    having counted none (barring a race between the test and the count)."""
    refuse_if_spent(deps, *gates)
    refused = _refused([deps.throttle.hit(g.limit, g.key) for g in gates if g is not None])
    if refused is not None:
        raise refused
