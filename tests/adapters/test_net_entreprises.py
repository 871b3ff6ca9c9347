"""The Net-Entreprises verifier against a real local HTTP server speaking the API's protocol."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from xml.etree import ElementTree

import attrs
import pytest
import trustme

from peps_onboarding.adapters.net_entreprises import (
    HttpNetEntreprisesVerifier,
    NetEntreprisesSettings,
)
from peps_onboarding.domain.errors import (
    NetEntreprisesAccountBlockedError,
    NetEntreprisesNotRegisteredError,
    NetEntreprisesPasswordExpiredError,
    NetEntreprisesRefusedError,
    NetEntreprisesUnavailableError,
    OnboardingError,
)
from peps_onboarding.domain.values import Siret
from peps_onboarding.ports import NetEntreprisesIdentity, NetEntreprisesVerifier

SIRET = Siret.parse("213 300 635 00017")
PASSWORD = "Zq8!motdepasse-secret"
TOKEN = b"c2VjcmV0LWpldG9uLWRlLXRlc3Q.0123456789abcdef"
EXPIRES = "Wed, 21 Oct 2026 07:28:00 GMT"
READ_TIMEOUT = 0.3
# The trickling server: one byte every TRICKLE_INTERVAL (well inside READ_TIMEOUT, so no
# single read ever times out), for TRICKLE_BYTES bytes: about 8 s if nobody stops it.
TRICKLE_INTERVAL = 0.08
TRICKLE_BYTES = 100
TOTAL_TIMEOUT = 1.0
# How late after the deadline the call may give up: the watchdog fires at the deadline;
# this is scheduling slack on a loaded machine, far below the 8 s the trickle lasts.
DEADLINE_SLACK = 0.7


# --- a local server that answers as Net-Entreprises does ------------------------------


@attrs.frozen
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    # Send that part of the answer one byte at a time (a slowloris upstream).
    trickle: Literal["headers", "body"] | None = None


@attrs.frozen
class Received:
    method: str
    path: str
    content_type: str | None
    body: bytes


class NetEntreprisesServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        self.release = threading.Event()  # ends a slow answer early at teardown

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout tests) is expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: NetEntreprisesServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(
            Received("POST", self.path, self.headers.get("Content-Type"), body)
        )
        reply = self.server.replies.popleft() if self.server.replies else Reply(500)
        if reply.delay:
            self.server.release.wait(reply.delay)
        head = [f"HTTP/1.1 {reply.status} OK", *(f"{n}: {v}" for n, v in reply.headers)]
        head += [f"Content-Length: {len(reply.body)}", "Connection: close", "", ""]
        headers = "\r\n".join(head).encode("latin-1")
        try:
            for part, trickled in ((headers, "headers"), (reply.body, "body")):
                if reply.trickle == trickled:
                    self._trickle(part)
                else:
                    self.wfile.write(part)
        except OSError:
            pass  # the client timed out and left

    def _trickle(self, data: bytes) -> None:
        for index in range(len(data)):
            if self.server.release.wait(TRICKLE_INTERVAL):
                return
            self.wfile.write(data[index : index + 1])

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@pytest.fixture
def server() -> Iterator[NetEntreprisesServer]:
    httpd = NetEntreprisesServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def tls_server() -> Iterator[tuple[NetEntreprisesServer, Callable[[], ssl.SSLContext]]]:
    """The same server behind TLS, and a client context that trusts its certificate."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    httpd = NetEntreprisesServer(tls=server_context)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()

    def trusting() -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        return context

    yield httpd, trusting
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def verifier(server: NetEntreprisesServer) -> HttpNetEntreprisesVerifier:
    settings = NetEntreprisesSettings(
        environment="test",
        base_url=server.base_url,
        connect_timeout=READ_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        total_timeout=TOTAL_TIMEOUT,
    )
    return HttpNetEntreprisesVerifier(settings)


def _verify(
    verifier: NetEntreprisesVerifier,
    *,
    last_name: str = "Dupont",
    first_name: str = "Hélène",
    password: str = PASSWORD,
) -> NetEntreprisesIdentity:
    return verifier.verify(
        siret=SIRET, last_name=last_name, first_name=first_name, password=password
    )


def _identifiants(received: Received) -> dict[str, str | None]:
    root = ElementTree.fromstring(received.body)  # noqa: S314 - our own client's output
    assert root.tag == "identifiants"
    tags = [child.tag for child in root]
    assert tags == ["siret", "nom", "prenom", "motdepasse", "service"]
    return {child.tag: child.text for child in root}


def _assert_secret_free(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))
    assert PASSWORD not in text
    assert PASSWORD not in repr(error)
    assert error.__cause__ is None
    assert error.__context__ is None  # no chained httpx error holding the request body


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _token_reply(body: bytes = TOKEN, trickle: Literal["headers", "body"] | None = None) -> Reply:
    headers = (("Content-Type", "text/plain"), ("Expires", EXPIRES))
    return Reply(200, body, headers, trickle=trickle)


def _trickled_token(part: Literal["headers", "body"]) -> Reply:
    """A token answer long enough that trickling it outlasts the deadline many times."""
    body = (TOKEN * (TRICKLE_BYTES // len(TOKEN) + 1))[:TRICKLE_BYTES]
    return _token_reply(body=body, trickle=part)


def _timed(call: Callable[[], object]) -> tuple[BaseException, float]:
    """The error ``call`` raised and how long it took to raise it."""
    started = time.monotonic()
    try:
        call()
    except Exception as error:  # returned to the test, which checks its type
        return error, time.monotonic() - started
    raise AssertionError("the call did not fail")


# --- success ----------------------------------------------------------------------------


@pytest.mark.rule("N1")
def test_a_token_answer_returns_the_identity_net_entreprises_vouched_for(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: 200 with a token means the credentials are right; the identity comes back."""
    server.replies.append(_token_reply())

    identity = _verify(verifier)

    assert identity == NetEntreprisesIdentity(siret=SIRET, last_name="Dupont", first_name="Hélène")


@pytest.mark.rule("N1")
def test_the_request_is_the_identifiants_document_posted_to_authentifier(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: one XML POST to /authentifier/1.0/ with the four credentials and the service."""
    server.replies.append(_token_reply())

    _verify(verifier)

    (received,) = server.received
    assert (received.method, received.path) == ("POST", "/authentifier/1.0/")
    assert received.content_type == "application/xml"
    assert _identifiants(received) == {
        "siret": "21330063500017",
        "nom": "Dupont",
        "prenom": "Hélène",
        "motdepasse": PASSWORD,
        "service": "97",
    }


@pytest.mark.rule("N1")
def test_every_field_is_xml_escaped(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: markup typed in a field stays text; it cannot add or replace an element."""
    server.replies.append(Reply(401, headers=(("WWW-Authenticate", 'Basic realm="x"'),)))
    injected = "</nom><motdepasse>x</motdepasse><nom>"

    with pytest.raises(NetEntreprisesRefusedError):
        _verify(verifier, last_name=injected, first_name="A & B <c>", password="p<&>'\"")

    (received,) = server.received
    assert b"</nom><motdepasse>x" not in received.body
    fields = _identifiants(received)
    assert fields["nom"] == injected
    assert fields["prenom"] == "A & B <c>"
    assert fields["motdepasse"] == "p<&>'\""


@pytest.mark.rule("N1", "E1")
def test_the_service_code_and_base_url_follow_the_environment_and_can_be_overridden() -> None:
    """Rule N1: each environment has its URL and service code; a host may set its own."""
    production = NetEntreprisesSettings()
    test = NetEntreprisesSettings(environment="test")
    custom = NetEntreprisesSettings(service_code="123", base_url="https://ne.example.fr/")

    assert production.authentication_url == (
        "https://services.net-entreprises.fr/authentifier/1.0/"
    )
    assert (production.service_code, test.service_code) == ("25", "97")
    assert test.authentication_url.startswith("https://test-services.net-entreprises.fr/")
    assert custom.authentication_url == "https://ne.example.fr/authentifier/1.0/"
    assert custom.service_code == "123"
    for look_alike in ("１２３", "١٢٣"):  # E1: ASCII digits only, in settings too
        with pytest.raises(ValueError, match="service_code"):
            NetEntreprisesSettings(service_code=look_alike, base_url="https://ne.example.fr/")


@pytest.mark.rule("N1")
def test_credentials_never_travel_in_clear_to_another_machine() -> None:
    """Rule N1: plain HTTP is refused except towards this machine (the test servers)."""
    with pytest.raises(ValueError, match="https"):
        NetEntreprisesSettings(base_url="http://services.net-entreprises.fr")


@pytest.mark.rule("N1")
def test_a_tls_context_that_does_not_verify_is_refused() -> None:
    """Rule N1: certificate verification cannot be switched off, even through the CA hook."""

    def unverified() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    with pytest.raises(ValueError, match="verify"):
        HttpNetEntreprisesVerifier(NetEntreprisesSettings(ssl_context_factory=unverified))


# --- refusals -----------------------------------------------------------------------


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    "challenge",
    ['Basic realm="net-entreprises.fr"', "Basic", 'Basic realm="Compte inconnu"'],
)
def test_unknown_account_or_wrong_password_is_one_generic_refusal(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier, challenge: str
) -> None:
    """Rule N1: 401 for a wrong password or unknown account never says which field."""
    server.replies.append(Reply(401, headers=(("WWW-Authenticate", challenge),)))

    with pytest.raises(NetEntreprisesRefusedError) as caught:
        _verify(verifier)

    assert caught.value.text.startswith(
        "Nous n'avons pas réussi à vous identifier. Veuillez vérifier les informations saisies."
    )
    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    ("challenge", "expected"),
    [
        ('Basic realm="Expiration du mot de passe"', NetEntreprisesPasswordExpiredError),
        ('DSNLogin realm="Utilisateur non-inscrit au service"', NetEntreprisesNotRegisteredError),
    ],
)
def test_net_entreprises_own_refusals_get_their_own_errors(
    server: NetEntreprisesServer,
    verifier: HttpNetEntreprisesVerifier,
    challenge: str,
    expected: type[OnboardingError],
) -> None:
    """Rule N1: an expired password or a missing service registration is said as such."""
    server.replies.append(Reply(401, headers=(("WWW-Authenticate", challenge),)))

    with pytest.raises(expected) as caught:
        _verify(verifier)

    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
def test_403_means_the_account_is_blocked_on_net_entreprises(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: Net-Entreprises blocks an account after repeated failures; 403 says so."""
    server.replies.append(Reply(403))

    with pytest.raises(NetEntreprisesAccountBlockedError) as caught:
        _verify(verifier)

    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
def test_422_invalid_parameters_is_the_generic_refusal(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: Net-Entreprises' own form check failing is a refusal, field unsaid."""
    server.replies.append(Reply(422, b"Le champ nom est invalide"))

    with pytest.raises(NetEntreprisesRefusedError) as caught:
        _verify(verifier)

    assert "nom" not in str(caught.value)
    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
@pytest.mark.parametrize("bad", ["", "a\x00b", "x" * 257, "tab\there"])
def test_unusable_input_is_refused_without_calling_net_entreprises(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier, bad: str
) -> None:
    """Rule N1: empty, huge or control-character fields cannot match: refused, no call made."""
    with pytest.raises(NetEntreprisesRefusedError):
        _verify(verifier, password=bad)
    with pytest.raises(NetEntreprisesRefusedError):
        _verify(verifier, last_name=bad)

    assert server.received == []


# --- unavailable: never reported as wrong credentials --------------------------------


@pytest.mark.rule("N1")
@pytest.mark.parametrize("status", [404, 429, 500, 502, 503, 302, 407])
def test_other_statuses_mean_net_entreprises_is_unavailable(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier, status: int
) -> None:
    """Rule N1: 404, 429, 5xx, redirects and the like are « indisponible », not a refusal."""
    server.replies.append(Reply(status, headers=(("Location", "https://maintenance.example"),)))

    with pytest.raises(NetEntreprisesUnavailableError) as caught:
        _verify(verifier)

    assert not isinstance(caught.value, NetEntreprisesRefusedError)
    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
def test_a_token_realm_on_the_authentication_service_is_unavailability(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: « Jeton manquant » means a misrouted call, not the person's credentials."""
    challenge = 'DSNLogin realm="Jeton manquant ou invalide"'
    server.replies.append(Reply(401, headers=(("WWW-Authenticate", challenge),)))

    with pytest.raises(NetEntreprisesUnavailableError):
        _verify(verifier)


@pytest.mark.rule("N1")
@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b""),
        Reply(200, b"   \n"),
        Reply(200, b"<html><body>Maintenance en cours</body></html>"),
        Reply(200, TOKEN, (("Expires", "demain"),)),
    ],
    ids=["empty", "blank", "html-page", "bad-expires"],
)
def test_a_200_that_is_not_a_token_is_unavailability(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier, reply: Reply
) -> None:
    """Rule N1: a maintenance page served with 200 must never pass for a sign-in."""
    server.replies.append(reply)

    with pytest.raises(NetEntreprisesUnavailableError) as caught:
        _verify(verifier)

    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
def test_an_answer_slower_than_the_read_timeout_is_unavailability(
    server: NetEntreprisesServer, verifier: HttpNetEntreprisesVerifier
) -> None:
    """Rule N1: Net-Entreprises too slow to answer is « indisponible », and the wait is bounded."""
    server.replies.append(Reply(200, TOKEN, delay=5.0))

    with pytest.raises(NetEntreprisesUnavailableError) as caught:
        _verify(verifier)

    _assert_secret_free(caught.value)


@pytest.mark.rule("N1")
@pytest.mark.parametrize("part", ["headers", "body"])
def test_an_answer_trickled_byte_by_byte_gives_up_at_the_total_deadline(
    server: NetEntreprisesServer,
    verifier: HttpNetEntreprisesVerifier,
    part: Literal["headers", "body"],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rule N1: an upstream that keeps every read alive (a byte well inside the read
    timeout) is cut off at the call's total deadline, as « indisponible »."""
    server.replies.append(_trickled_token(part))

    with caplog.at_level(logging.WARNING, logger="peps_onboarding"):
        error, elapsed = _timed(lambda: _verify(verifier))

    assert isinstance(error, NetEntreprisesUnavailableError)
    assert TOTAL_TIMEOUT - 0.05 <= elapsed < TOTAL_TIMEOUT + DEADLINE_SLACK
    assert "délai total" in caplog.text
    _assert_secret_free(error)


@pytest.mark.rule("N1")
def test_a_trickled_answer_over_tls_gives_up_at_the_total_deadline(
    tls_server: tuple[NetEntreprisesServer, Callable[[], ssl.SSLContext]],
) -> None:
    """Rule N1: the deadline cuts an HTTPS call too (the production case)."""
    server, trusting = tls_server
    server.replies.append(_trickled_token("body"))
    settings = NetEntreprisesSettings(
        base_url=server.base_url,
        connect_timeout=READ_TIMEOUT * 3,
        read_timeout=READ_TIMEOUT,
        total_timeout=TOTAL_TIMEOUT,
        ssl_context_factory=trusting,
    )

    error, elapsed = _timed(lambda: _verify(HttpNetEntreprisesVerifier(settings)))

    assert isinstance(error, NetEntreprisesUnavailableError)
    assert TOTAL_TIMEOUT - 0.05 <= elapsed < TOTAL_TIMEOUT + DEADLINE_SLACK
    _assert_secret_free(error)


@pytest.mark.rule("N1")
def test_an_answer_within_the_total_deadline_over_tls_is_read(
    tls_server: tuple[NetEntreprisesServer, Callable[[], ssl.SSLContext]],
) -> None:
    """Rule N1: the watchdog leaves a call that finishes in time alone."""
    server, trusting = tls_server
    server.replies.append(_token_reply())
    settings = NetEntreprisesSettings(
        base_url=server.base_url, total_timeout=TOTAL_TIMEOUT, ssl_context_factory=trusting
    )

    identity = _verify(HttpNetEntreprisesVerifier(settings))

    assert identity.siret == SIRET


def test_the_total_deadline_has_a_default_and_must_be_positive() -> None:
    """The deadline is on by default (connect plus read: no well-behaved answer is cut)."""
    settings = NetEntreprisesSettings()
    assert settings.total_timeout == settings.connect_timeout + settings.read_timeout
    with pytest.raises(ValueError, match="total_timeout"):
        NetEntreprisesSettings(total_timeout=0)


@pytest.mark.rule("N1")
def test_a_refused_connection_is_unavailability() -> None:
    """Rule N1: nothing listening is « indisponible », never wrong credentials."""
    settings = NetEntreprisesSettings(
        base_url=f"http://127.0.0.1:{_unused_port()}", connect_timeout=1.0, read_timeout=1.0
    )

    with pytest.raises(NetEntreprisesUnavailableError) as caught:
        _verify(HttpNetEntreprisesVerifier(settings))

    _assert_secret_free(caught.value)


# --- the password is never kept nor logged ------------------------------------------


@pytest.mark.rule("N1")
def test_the_password_is_neither_kept_nor_logged(
    server: NetEntreprisesServer,
    verifier: HttpNetEntreprisesVerifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rule N1: after any outcome the password is in no log line and not on the verifier."""
    caplog.set_level(logging.DEBUG)
    server.replies.extend(
        [
            _token_reply(),
            Reply(401, headers=(("WWW-Authenticate", 'Basic realm="net-entreprises.fr"'),)),
            Reply(503),
        ]
    )

    _verify(verifier)
    with pytest.raises(NetEntreprisesRefusedError):
        _verify(verifier)
    with pytest.raises(NetEntreprisesUnavailableError):
        _verify(verifier)

    assert len(server.received) == 3
    assert PASSWORD not in caplog.text
    assert TOKEN.decode() not in caplog.text
    assert PASSWORD not in repr(verifier)
    assert PASSWORD not in repr(attrs.asdict(verifier))
