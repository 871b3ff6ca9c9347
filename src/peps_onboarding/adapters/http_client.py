"""What the HTTP adapters (Net-Entreprises, Sirene) share: settings validators, a client
that always verifies TLS, one overall deadline per call, and one way to turn a transport
failure into "no answer".

httpx only bounds each phase (connect, each read, each write): an upstream that sends a
byte just inside ``read_timeout`` keeps a call alive for as long as it likes. Each call
therefore also runs against a total budget, enforced by a watchdog
(:class:`_Deadline`): a timer that, when the budget is spent, shuts the call's socket
down, which wakes the blocked read or write at once, in whichever phase it is (TLS
handshake, request, response headers, body). Checking the elapsed time between streamed
chunks was the other way, but it only sees the body: a trickle in the headers or in the
handshake would go unnoticed, and each check can come up to ``read_timeout`` late.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Final, Literal, Protocol
from urllib.parse import urlsplit

import httpx

__all__ = ["HttpSettings", "is_secure_url", "open_client", "positive", "send", "tls_verification"]

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
# httpcore's trace events whose return value is the connection's network stream.
_CONNECTED: Final = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})


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


class HttpSettings(Protocol):
    """The settings both HTTP adapters carry."""

    @property
    def base_url(self) -> str: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def total_timeout(self) -> float: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def ssl_context_factory(self) -> Callable[[], ssl.SSLContext] | None: ...
    @property
    def transport_factory(self) -> Callable[[], httpx.BaseTransport] | None: ...


def tls_verification(settings: HttpSettings, service: str) -> ssl.SSLContext | Literal[True]:
    """httpx's ``verify``: its default (certifi, host name checked), or the host's context,
    which must verify too: a context that does not is a wiring error."""
    factory = settings.ssl_context_factory
    if factory is None:
        return True
    context = factory()
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ValueError(f"the {service} TLS context must verify certificates")
    return context


class _Deadline:
    """One call's total time budget, watched by a timer thread.

    httpcore reports each new connection through the ``trace`` request extension; the
    deadline keeps a duplicate of its socket's descriptor. Shutting that duplicate down
    shuts the connection down (a shutdown acts on the socket, not on one descriptor)
    without touching the objects httpcore is using from the calling thread, TLS layer
    included; and because the duplicate stays open until :meth:`finish`, its number can
    never be reused by an unrelated file while the timer may still fire.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._finished = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def attach(self, request: httpx.Request) -> None:
        """httpx's request hook: follow the connections this request opens."""
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: Mapping[str, object]) -> None:
        if event not in _CONNECTED:
            return
        stream = info.get("return_value")
        get_extra_info = getattr(stream, "get_extra_info", None)
        sock = get_extra_info("socket") if callable(get_extra_info) else None
        if not isinstance(sock, socket.socket):
            return
        try:
            duplicate = socket.socket(fileno=socket.dup(sock.fileno()))
        except OSError:
            return
        with self._lock:
            if self._finished:
                duplicate.close()
                return
            self._sockets.append(duplicate)
            late = self.expired
        if late:  # the budget ran out while connecting: stop before the first byte
            _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for duplicate in self._sockets:
                _shut_down(duplicate)

    def finish(self) -> None:
        """The call is over: stop the timer and let go of the connections."""
        self._timer.cancel()
        with self._lock:
            self._finished = True
            sockets, self._sockets = self._sockets, []
        for duplicate in sockets:
            duplicate.close()


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer or by httpcore
        sock.shutdown(socket.SHUT_RDWR)


def open_client(
    settings: HttpSettings, service: str, *, budget: float | None = None
) -> httpx.Client:
    """A client for one call. No phase waits longer than the call's whole ``budget``
    (``settings.total_timeout`` by default), which :func:`send` enforces overall."""
    total = settings.total_timeout if budget is None else budget
    read = min(settings.read_timeout, total)
    return httpx.Client(
        timeout=httpx.Timeout(read, connect=min(settings.connect_timeout, total)),
        verify=tls_verification(settings, service),
        transport=settings.transport_factory() if settings.transport_factory else None,
        headers={"User-Agent": settings.user_agent},
        follow_redirects=False,  # a redirect (maintenance page) is not an answer
    )


def send(
    settings: HttpSettings,
    service: str,
    request: Callable[[httpx.Client], httpx.Response],
    log: logging.Logger,
    *,
    budget: float | None = None,
) -> httpx.Response | None:
    """The answer, or ``None`` when there was none within the call's total budget
    (``budget`` seconds, ``settings.total_timeout`` by default): the reason is logged
    (never a credential, never the request), not raised."""
    seconds = settings.total_timeout if budget is None else budget
    if seconds <= 0:
        log.warning("%s injoignable (%s): délai total épuisé", service, settings.base_url)
        return None
    deadline = _Deadline(seconds)
    failure: str | None = None
    response: httpx.Response | None = None
    try:
        with open_client(settings, service, budget=seconds) as client:
            client.event_hooks["request"].append(deadline.attach)
            deadline.start()
            response = request(client)
    except httpx.TimeoutException:
        failure = "délai dépassé"
    except httpx.HTTPError as error:
        failure = type(error).__name__
    finally:
        deadline.finish()
    if deadline.expired:
        # Even an answer completed just as the budget ran out: past it, nothing is used.
        failure = f"délai total de {seconds:g} s dépassé"
    if failure is None:
        return response
    log.warning("%s injoignable (%s): %s", service, settings.base_url, failure)
    return None
