"""Rule W3 at the edge: CSRF on every form, the security headers, the client's address
for P1, and a bounded reading of form bodies.

The CSRF defence is the synchroniser-token pattern: a random token kept in the signed
session and repeated in a hidden field of every form, compared in constant time. Plain
HTML forms can send no header, so header-only middlewares do not fit.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import WebSettings

__all__ = [
    "CSRF_FIELD",
    "CsrfRefusedError",
    "FormTooLargeError",
    "SecurityHeaders",
    "client_address",
    "csrf_token",
    "read_form",
    "rotate_session",
    "sign_in",
    "touch",
]

CSRF_FIELD = "csrf"
#: A whole registration form is under 3 KB; anything far bigger is not a person typing.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 64


class CsrfRefusedError(Exception):
    """A state-changing request without the session's token (W3)."""


class FormTooLargeError(Exception):
    """A body beyond :data:`MAX_FORM_BYTES`, or with too many fields."""


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def sign_in(request: Request, identifier: str, profile: str) -> None:
    """A person the platform just authenticated: a new session (W3), holding who they are
    and whether to offer « Gestion des comptes » (the platform decides every action)."""
    rotate_session(request)
    request.session["user"] = identifier
    request.session["admin"] = profile == "administrator"
    touch(request)


def touch(request: Request) -> None:
    """Activity of a signed-in person: the idle limit counts from now."""
    request.session["seen"] = int(time.time())


def rotate_session(request: Request) -> None:
    """At a change of privilege (login, logout): nothing from before survives, and a new
    token is issued, so a token or cookie captured earlier is worth nothing."""
    request.session.clear()
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    request.session["sid"] = secrets.token_urlsafe(16)


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded body, read up to a bound, its CSRF token checked before anything
    else. A repeated field keeps its first value; every value is a ``str``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise FormTooLargeError()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLargeError()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pairs: list[tuple[str, str]] = []
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                body.decode("utf-8", errors="replace"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except ValueError:
            raise FormTooLargeError() from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    expected = request.session.get(CSRF_FIELD)
    sent = form.pop(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode("utf-8"), sent.encode("utf-8", errors="replace")
    ):
        raise CsrfRefusedError()
    return form


def client_address(request: Request, settings: WebSettings) -> str | None:
    """Rule P1: the address the per-source limits count. The TCP peer, unless it is one of
    the trusted proxies: then the right-most address of ``X-Forwarded-For`` that is not a
    trusted proxy (what the left-most says, the client wrote itself)."""
    peer = request.client.host if request.client else None
    networks = settings.proxy_networks
    if peer is None or not networks or not _within(peer, networks):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a proxy that writes garbage is not believed at all
        if not _within(hop, networks):
            return hop
    return peer


def _within(
    address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


class SecurityHeaders:
    """Rule W3: every answer gets a CSP without inline script, framing limited to
    ``frame_ancestors``, no referrer (links carry tokens in their query), and
    ``no-store`` on everything but the static files (pages show personal data)."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        ancestors = " ".join(settings.frame_ancestors) or "'none'"
        policy = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}"
        )
        self.headers: Mapping[bytes, bytes] = {
            b"content-security-policy": policy.encode("ascii"),
            b"x-content-type-options": b"nosniff",
            b"referrer-policy": b"no-referrer",
            b"cross-origin-opener-policy": b"same-origin",
            b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
        }
        if not settings.frame_ancestors:
            self.headers = {**self.headers, b"x-frame-options": b"DENY"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in self.headers
                    and (static or name.lower() != b"cache-control")
                ]
                headers.extend(self.headers.items())
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
