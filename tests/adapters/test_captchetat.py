"""CaptchEtat (C1, W4) against a real loopback HTTP server in this process that speaks its
API v2 and PISTE's OAuth: challenges, verdicts, the sound version, tokens, outages."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from peps_onboarding.adapters.captcha.captchetat import CaptchEtatSettings, CaptchEtatVerifier
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.domain.errors import CaptchaUnavailableError, ServiceUnavailableError
from peps_onboarding.testing import START

CLIENT_ID = "client-peps-test"
CLIENT_SECRET = "s3cret-piste-ne-pas-journaliser"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
STYLE = "alphanumerique6to9LightCaptchaFR"


@attrs.define
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: bytes


class CaptchEtatServer(ThreadingHTTPServer):
    """PISTE's token endpoint and CaptchEtat's two endpoints, as their documentation and
    clients describe them; ``status`` forces an answer (an outage, a refused token)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.codes: dict[str, str] = {}  # uuid -> the characters drawn
        self.used: set[str] = set()
        self.tokens: list[str] = []
        self.revoked: set[str] = set()
        self.status: dict[str, int] = {}  # "token" | "image" | "sound" | "verdict" -> HTTP
        self.verdict_body: str | None = None
        self.release = threading.Event()
        self.delay = 0.0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout tests) is expected: stay quiet."""

    def calls(self, path_end: str) -> list[Received]:
        return [r for r in self.received if r.path.endswith(path_end)]


class _Handler(BaseHTTPRequestHandler):
    server: CaptchEtatServer
    protocol_version = "HTTP/1.1"

    def _record(self) -> Received:
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        received = Received(
            self.command,
            parts.path,
            parse_qs(parts.query),
            self.headers.get("Authorization"),
            self.rfile.read(length),
        )
        self.server.received.append(received)
        return received

    def _reply(self, status: int, body: bytes, media_type: str = "application/json") -> None:
        if self.server.delay:
            self.server.release.wait(self.server.delay)
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client timed out and left
            self.wfile.write(body)

    def _authorised(self, received: Received) -> bool:
        bearer = (received.authorization or "").removeprefix("Bearer ")
        return bearer in self.server.tokens and bearer not in self.server.revoked

    def do_POST(self) -> None:
        received = self._record()
        server = self.server
        if received.path == "/api/oauth/token":
            form = parse_qs(received.body.decode())
            expected = {
                "grant_type": ["client_credentials"],
                "client_id": [CLIENT_ID],
                "client_secret": [CLIENT_SECRET],
                "scope": ["piste.captchetat"],
            }
            status = server.status.get("token", 200 if form == expected else 401)
            token = f"jeton-{len(server.tokens) + 1}"
            if status == 200:
                server.tokens.append(token)
            answer = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
            self._reply(status, json.dumps(answer).encode())
        elif received.path == "/piste/captchetat/v2/valider-captcha":
            if not self._authorised(received):
                self._reply(401, b'{"error": "invalid_token"}')
                return
            document = json.loads(received.body)
            uuid, code = document["uuid"], document["code"]
            right = server.codes.get(uuid) == code and uuid not in server.used
            server.used.add(uuid)
            body = server.verdict_body or ("true" if right else "false")
            self._reply(server.status.get("verdict", 200), body.encode())
        else:
            self._reply(404, b"{}")

    def do_GET(self) -> None:
        received = self._record()
        server = self.server
        if received.path != "/piste/captchetat/v2/simple-captcha-endpoint":
            self._reply(404, b"{}")
            return
        if not self._authorised(received):
            self._reply(401, b'{"error": "invalid_token"}')
            return
        get, style = received.query.get("get"), received.query.get("c")
        if get == ["image"] and style == [STYLE]:
            uuid = f"5a1c9e0e-0000-4000-8000-{len(server.codes):012d}"
            server.codes[uuid] = f"K7Q{len(server.codes)}X"
            image = "data:image/png;base64," + base64.b64encode(PNG).decode()
            body = json.dumps({"imageb64": image, "uuid": uuid}).encode()
            self._reply(server.status.get("image", 200), body)
        elif (
            get == ["sound"]
            and style == [STYLE]
            and received.query.get("t", [""])[0] in (server.codes)
        ):
            self._reply(server.status.get("sound", 200), WAV, "audio/x-wav")
        else:
            self._reply(400, b"{}")

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@pytest.fixture
def server() -> Iterator[CaptchEtatServer]:
    httpd = CaptchEtatServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def settings_for(
    origin: str, *, client_id: str = CLIENT_ID, total_timeout: float = 1.0
) -> CaptchEtatSettings:
    return CaptchEtatSettings(
        client_id=client_id,
        client_secret=CLIENT_SECRET,
        base_url=f"{origin}/piste/captchetat/v2",
        oauth_url=f"{origin}/api/oauth/token",
        connect_timeout=0.5,
        read_timeout=0.5,
        total_timeout=total_timeout,
    )


@pytest.fixture
def captchetat(server: CaptchEtatServer, clock: FakeClock) -> CaptchEtatVerifier:
    return CaptchEtatVerifier(settings_for(server.origin), clock=clock)


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.rule("C1")
def test_a_challenge_is_characters_to_type_from_captchetats_image(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer
) -> None:
    """Rule C1: kind "text", CaptchEtat's uuid as id, its image served as it drew it,
    after a client-credentials token with PISTE's scope."""
    challenge = captchetat.challenge()
    assert challenge.kind == "text" and challenge.choices == ()
    assert challenge.prompt == "Saisissez les caractères affichés dans l'image"
    assert challenge.sound_prompt == "Saisissez les caractères que vous entendez"
    assert challenge.id in server.codes
    assert challenge.expires_at == START + timedelta(minutes=10)
    image = captchetat.media(challenge.id, "image")
    assert image is not None and (image.content, image.media_type) == (PNG, "image/png")
    assert len(server.calls("/api/oauth/token")) == 1
    fetch = server.calls("/simple-captcha-endpoint")[0]
    assert fetch.authorization == "Bearer jeton-1"
    assert fetch.query == {"get": ["image"], "c": [STYLE]}


@pytest.mark.rule("C1")
def test_captchetats_verdict_decides_and_a_challenge_is_used_once(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer
) -> None:
    """Rule C1: the right characters pass, wrong ones fail; either way the challenge is
    used up (here without asking CaptchEtat again, and its media are gone)."""
    right = captchetat.challenge()
    assert captchetat.verify(right.id, f" {server.codes[right.id]} ") is True
    sent = json.loads(server.calls("/valider-captcha")[0].body)
    assert sent == {"uuid": right.id, "code": server.codes[right.id]}
    assert captchetat.verify(right.id, server.codes[right.id]) is False
    assert captchetat.media(right.id, "image") is None
    wrong = captchetat.challenge()
    assert captchetat.verify(wrong.id, "AAAAAA") is False
    assert captchetat.verify(wrong.id, server.codes[wrong.id]) is False
    assert len(server.calls("/valider-captcha")) == 2
    assert len(server.calls("/api/oauth/token")) == 1  # one token for every call


@pytest.mark.rule("W4", "C1")
def test_the_sound_version_comes_from_captchetat(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer
) -> None:
    """Rule W4: « son » is CaptchEtat's spoken version of the same uuid, as audio."""
    challenge = captchetat.challenge()
    sound = captchetat.media(challenge.id, "son")
    assert sound is not None and (sound.content, sound.media_type) == (WAV, "audio/x-wav")
    assert server.calls("/simple-captcha-endpoint")[-1].query == {
        "get": ["sound"],
        "c": [STYLE],
        "t": [challenge.id],
    }
    assert captchetat.media(challenge.id, "choix") is None
    assert captchetat.media("inconnu", "son") is None


@pytest.mark.rule("C1")
def test_a_challenge_shown_by_another_process_is_still_verified(
    server: CaptchEtatServer, clock: FakeClock
) -> None:
    """Rule C1: the id is CaptchEtat's uuid, so a second server process verifies what the
    first one showed (CaptchEtat keeps the challenge)."""
    shown_by = CaptchEtatVerifier(settings_for(server.origin), clock=clock)
    verified_by = CaptchEtatVerifier(settings_for(server.origin), clock=clock)
    challenge = shown_by.challenge()
    assert verified_by.verify(challenge.id, server.codes[challenge.id]) is True


@pytest.mark.rule("C1")
def test_an_expired_challenge_serves_nothing(
    captchetat: CaptchEtatVerifier, clock: FakeClock
) -> None:
    """Rule C1: past ten minutes, the image is no longer served."""
    challenge = captchetat.challenge()
    clock.advance(timedelta(minutes=10))
    assert captchetat.media(challenge.id, "image") is None


@pytest.mark.rule("C1")
def test_a_refused_token_is_fetched_anew_once(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer
) -> None:
    """Rule C1: a token CaptchEtat no longer accepts (401) is renewed, and the call made
    again, once."""
    challenge = captchetat.challenge()
    server.revoked.add("jeton-1")
    assert captchetat.verify(challenge.id, server.codes[challenge.id]) is True
    assert len(server.calls("/api/oauth/token")) == 2


@pytest.mark.rule("C1")
@pytest.mark.parametrize(
    "response", ["", "   ", "\x00\x01", "x" * 10_000, "\ud800", None, 12, b"K7Q0X"]
)
def test_hostile_input_is_refused_without_asking_captchetat(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer, response: object
) -> None:
    """Rule C1: nothing a form posts raises; what cannot be an answer, or an id that is
    not a uuid, costs no call, and still uses the challenge up."""
    challenge = captchetat.challenge()
    assert captchetat.verify(challenge.id, response) is False  # type: ignore[arg-type]
    assert captchetat.verify(challenge.id, server.codes[challenge.id]) is False
    for challenge_id in ("", "../../etc", "x" * 1000, "\x00", None):
        assert captchetat.verify(challenge_id, "K7Q0X") is False  # type: ignore[arg-type]
        assert captchetat.media(challenge_id, "image") is None  # type: ignore[arg-type]
    assert server.calls("/valider-captcha") == []


@pytest.mark.rule("C1")
@pytest.mark.parametrize("failing", ["token", "image"])
def test_an_outage_when_asking_a_challenge_is_unavailable(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer, failing: str
) -> None:
    """Rule C1: PISTE or CaptchEtat answering 5xx is « indisponible », a
    ServiceUnavailableError, never a challenge or a failed check."""
    server.status[failing] = 503
    with pytest.raises(CaptchaUnavailableError) as raised:
        captchetat.challenge()
    assert isinstance(raised.value, ServiceUnavailableError)
    assert raised.value.message.startswith("Le contrôle de sécurité est momentanément")


@pytest.mark.rule("C1")
def test_an_outage_when_verifying_raises_and_the_challenge_stays_used(
    captchetat: CaptchEtatVerifier, server: CaptchEtatServer
) -> None:
    """Rule C1: a verdict that does not come (5xx, an unreadable body) raises; the
    challenge is used all the same, so a retry cannot try it twice."""
    challenge, other = captchetat.challenge(), captchetat.challenge()
    server.status["verdict"] = 500
    with pytest.raises(CaptchaUnavailableError):
        captchetat.verify(challenge.id, server.codes[challenge.id])
    del server.status["verdict"]
    server.verdict_body = "<html>maintenance</html>"
    with pytest.raises(CaptchaUnavailableError):
        captchetat.verify(other.id, server.codes[other.id])
    server.verdict_body = None
    assert captchetat.verify(challenge.id, server.codes[challenge.id]) is False


@pytest.mark.rule("C1")
def test_an_unreachable_or_silent_service_is_unavailable(
    server: CaptchEtatServer, clock: FakeClock
) -> None:
    """Rule C1: no one listening, or an answer slower than the total budget, is
    « indisponible » within that budget."""
    nowhere = CaptchEtatVerifier(settings_for(f"http://127.0.0.1:{_unused_port()}"))
    with pytest.raises(CaptchaUnavailableError):
        nowhere.challenge()
    slow = CaptchEtatVerifier(settings_for(server.origin, total_timeout=0.3), clock=clock)
    server.delay = 3.0
    with pytest.raises(CaptchaUnavailableError):
        slow.challenge()


@pytest.mark.rule("C1")
def test_the_client_secret_and_the_token_stay_out_of_logs(
    server: CaptchEtatServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Rule C1: neither the client secret nor a bearer token appears in a log line, a
    repr or an error, even when PISTE refuses the credentials."""
    caplog.set_level(logging.DEBUG)
    wrong = CaptchEtatVerifier(settings_for(server.origin, client_id="autre"), clock=clock)
    with pytest.raises(CaptchaUnavailableError) as raised:
        wrong.challenge()
    right = CaptchEtatVerifier(settings_for(server.origin), clock=clock)
    right.challenge()
    shown = caplog.text + repr(wrong) + repr(right.settings) + repr(raised.value)
    assert CLIENT_SECRET not in shown
    assert "jeton-" not in shown
    assert "indisponible" in caplog.text


def test_settings_refuse_plain_http_and_missing_credentials() -> None:
    """Credentials cross these URLs: https only (http towards this machine for tests)."""
    with pytest.raises(ValueError, match="https"):
        CaptchEtatSettings(client_id=CLIENT_ID, client_secret="x", base_url="http://piste.fr")
    with pytest.raises(ValueError, match="https"):
        CaptchEtatSettings(client_id=CLIENT_ID, client_secret="x", oauth_url="http://piste.fr")
    with pytest.raises(ValueError, match="client_secret"):
        CaptchEtatSettings(client_id=CLIENT_ID, client_secret=" ")
    with pytest.raises(ValueError, match="style"):
        CaptchEtatSettings(client_id=CLIENT_ID, client_secret="x", style="a&get=html")
