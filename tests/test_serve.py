"""``peps-onboarding serve --demo``: the screens in a browser on a demonstration platform,
and its ``/demo`` page (the simulated clock, the e-mails and letters sent)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.web.helpers import SECRET, Site

from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.memory import InMemoryCaptchaVerifier
from peps_onboarding.application.commands import EstablishmentIdentification
from peps_onboarding.application.results import EstablishmentNotEnrolled
from peps_onboarding.config import ConfigError
from peps_onboarding.domain.errors import OnboardingError
from peps_onboarding.domain.notifications import EmailKind, EmailMessage, Letter, LetterKind
from peps_onboarding.entrypoints import serve as serve_module
from peps_onboarding.entrypoints.cli import main
from peps_onboarding.entrypoints.serve import (
    DemoServer,
    ServeError,
    build_demo,
    link_host,
    loopback,
    serve,
)
from peps_onboarding.testing import Journey
from peps_onboarding.web import WebSettings, create_app
from peps_onboarding.web.demo import DemoControls, linked

pytestmark = pytest.mark.rule("W1", "W2")

EMAIL = "jeanne.dupont@saint-aubin.example"
HOLDER = {
    "civilite": "Madame",
    "nom": "Dupont",
    "prenom": "Jeanne",
    "courriel": EMAIL,
    "confirmation_courriel": EMAIL,
    "telephone": "05 56 11 41 23",
    "service_fonction": "Ressources humaines",
    "voie": "6 place des Clémens",
    "code_postal": "33160",
    "ville": "Saint-Aubin-de-Médoc",
    "cgu": "oui",
}
PASSWORD = "Saint-Aubin-2024!"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what the warning is about
START = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)  # 10:30 in Paris


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    with build_demo(
        base_url="http://testserver",
        data=tmp_path,
        captcha=InMemoryCaptchaVerifier(),
        hasher=Argon2PasswordHasher.fast_for_tests(),
        start=START,
    ) as server:
        yield server


@pytest.fixture
def site(demo: DemoServer) -> Iterator[Site]:
    with TestClient(demo.app, base_url="http://testserver") as client:
        yield Site(cast(Journey, None), client)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the command ------------------------------------------------------------------------


def test_serve_without_demo_is_refused_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "--demo" in error and "peps_onboarding.web.create_app" in error
    assert "serveur ASGI" in error and "docs/web.md" in error


def test_serve_prints_where_to_open_it_and_what_to_try(tmp_path: Path) -> None:
    lines: list[str] = []
    seen: dict[str, object] = {}

    def run(app: Starlette, sock: socket.socket) -> None:
        seen["bound"] = sock.getsockname()
        with TestClient(app) as client:
            seen["demo"] = client.get("/demo").status_code

    port = free_port()
    assert serve(host=None, port=port, data=tmp_path, out=lines.append, run=run) == 0
    text = "\n".join(lines)
    assert f"Ouvrez http://127.0.0.1:{port}/ dans votre navigateur" in text
    assert f"http://127.0.0.1:{port}/demo" in text
    assert "21330063500017  FM330063  Commune de Saint-Aubin-de-Médoc" in text
    assert "la réponse est sur les images" in text and "heure de Paris" in text
    assert text.endswith("Démonstration arrêtée.")
    assert seen == {"bound": ("127.0.0.1", port), "demo": 200}
    assert (tmp_path / "onboarding.db").exists()  # --data keeps the database


def test_a_host_beyond_this_machine_is_served_with_a_warning() -> None:
    warnings: list[str] = []
    bases: list[str] = []

    def run(app: Starlette, sock: socket.socket) -> None:
        with TestClient(app) as client:
            bases.append(client.get("/demo").text)

    serve(
        host=EVERY_INTERFACE,
        port=free_port(),
        data=None,
        out=bases.append,
        warn=warnings.append,
        run=run,
    )
    assert len(warnings) == 1 and "Attention" in warnings[0] and EVERY_INTERFACE in warnings[0]
    assert any("Ouvrez http://127.0.0.1:" in line for line in bases)  # the links' host


def test_a_taken_port_or_an_impossible_one_ends_in_one_french_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--demo", "--port", str(port)]) == 2
    assert "Impossible d'écouter sur 127.0.0.1:" in capsys.readouterr().err
    with pytest.raises(ServeError, match="Port invalide"):
        serve(host=None, port=70000, data=None)


def test_loopback_and_the_links_host() -> None:
    assert loopback("localhost") and loopback("127.0.0.1") and loopback("[::1]")
    assert not loopback(EVERY_INTERFACE) and not loopback("demo.example")
    assert link_host("::1") == "[::1]" and link_host("::") == "127.0.0.1"
    assert link_host("demo.example") == "demo.example" and link_host("10.1.2.3") == "10.1.2.3"


def test_the_default_security_check_is_the_image_choice(tmp_path: Path) -> None:
    with build_demo(data=tmp_path) as server, TestClient(server.app) as client:
        step_one = Site.text(client.get("/inscription").text)
        assert "Cliquer sur l'image" in step_one
        assert "la réponse est sur les images" in Site.text(client.get("/demo").text)


def test_every_advertised_pair_does_what_the_page_says(demo: DemoServer) -> None:
    assert demo.samples
    for sample in demo.samples:
        command = EstablishmentIdentification(
            siret=sample.siret, contract_number=sample.contract, captcha_response="trombone"
        )
        if "refusée" in sample.note:
            with pytest.raises(OnboardingError):
                demo.platform.identify_establishment(command)
        else:
            result = demo.platform.identify_establishment(command)
            assert isinstance(result, EstablishmentNotEnrolled), sample.siret


def test_the_dispatcher_sends_what_is_owed_until_stopped(
    demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    stop = threading.Event()

    def dispatch(limit: int = 100) -> object:
        calls.append(limit)
        if len(calls) == 1:
            raise RuntimeError("a passing failure")
        stop.set()
        return None

    monkeypatch.setattr(demo.platform, "dispatch_notifications", dispatch)
    demo.dispatch_until(stop, interval=0.001)
    assert len(calls) == 2  # the failure was logged, the next pass ran


def test_what_is_kept_is_kept_once(demo: DemoServer) -> None:
    kept = serve_module._Kept(demo.clock)
    mail = EmailMessage(
        message_id="m1", to=EMAIL, subject="Objet", text="Texte", kind=EmailKind.ACCESS_OPEN
    )
    for _ in range(2):
        kept.send_email(mail)
    assert [sent.message for sent in kept.sent_emails()] == [mail]
    assert [sent.at for sent in kept.sent_emails()] == [START]
    letter = Letter(
        letter_id="l1",
        kind=LetterKind.CLASSIC_ENROLMENT,
        siret="21330063500017",
        designation="Commune de Saint-Aubin-de-Médoc",
        recipient_name="Madame Christine Lefèvre",
        recipient_title="Maire",
        recipient_address=("Madame Christine Lefèvre",),
        applicant_name="Madame Jeanne Dupont",
        applicant_function="Ressources humaines",
        applicant_email=EMAIL,
        registered_at=START,
        withdrawal_deadline=None,
        withdrawal_code=None,
        withdrawal_url=None,
        text="Madame la Maire,",
    )
    for _ in range(2):
        kept.send_letter(letter)
    assert [sent.letter for sent in kept.sent_letters()] == [letter]


# --- the /demo page ---------------------------------------------------------------------


def _link_in(page: str) -> str:
    found = re.search(r'<a href="(http://testserver/creer-mot-de-passe\?jeton=[^"]+)"', page)
    assert found, "the creation link is a real link"
    return found.group(1).removeprefix("http://testserver")


def test_register_on_the_screens_then_move_the_clock_to_day_j(demo: DemoServer, site: Site) -> None:
    page = site.get("/demo")
    text = site.text(page.text)
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "Démonstration" in text and "13/03/2024 à 10:30" in text
    assert "Aucun courriel pour l'instant" in text and "FM330063" in text
    assert "répondez « trombone »" in text and "NE-secret-42" in text
    assert '<label for="champ-jours">Nombre de jours</label>' in page.text
    assert site.get("/").text.count('href="/demo">Démonstration</a>') == 1  # in the header

    site.step_one("21330063500017", "FM330063")
    registered = site.post("/inscription/etape-2", HOLDER)
    assert "Votre identifiant de connexion est : JDU000001" in site.text(registered.text)
    assert site.get("/demo").text.count("/demo/courriels/") == 0  # nothing sent on a GET

    dispatched = site.post("/demo/envois", {}, csrf_from="/demo")
    text = site.text(dispatched.text)
    assert "La tâche planifiée et les envois ont été lancés" in text
    assert EMAIL in text and "Courriels envoyés (1)" in text
    assert "Courriers postaux envoyés (1)" in text and "Christine Lefèvre" in text

    mail = site.get("/demo/courriels/1")
    assert mail.status_code == 200 and "Version texte" in site.text(mail.text)
    link = _link_in(mail.text)
    letter = site.get("/demo/courriers/1")
    code = re.search(r"<strong>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</strong>", letter.text)
    assert code and code.group(1) in site.text(letter.text).replace(code.group(1), "", 1)

    created = site.post(
        "/creer-mot-de-passe",
        {
            "jeton": link.split("jeton=")[1],
            "mot_de_passe": PASSWORD,
            "confirmation_mot_de_passe": PASSWORD,
        },
        csrf_from=link,
    )
    assert "Votre mot de passe a bien été créé" in site.text(created.text)

    moved = site.post("/demo/horloge", {"jours": "8"}, csrf_from="/demo")
    text = site.text(moved.text)
    assert "L'horloge a avancé de 8 jours" in text and "21/03/2024 à 10:30" in text
    assert "Vous pouvez maintenant accéder à la plateforme" in text
    assert site.login("JDU000001", PASSWORD).url.path == "/espace"


def test_the_clock_moves_only_on_a_valid_post_with_its_token(demo: DemoServer, site: Site) -> None:
    before = demo.clock.now()
    for _ in range(2):
        site.get("/demo")
    assert demo.clock.now() == before  # W2: a GET changes nothing
    refused = site.client.post("/demo/horloge", data={"jours": "8"})
    assert refused.status_code == 403 and demo.clock.now() == before
    for typed in ("0", "huit", "１", "3651", ""):
        wrong = site.post("/demo/horloge", {"jours": typed}, csrf_from="/demo")
        assert wrong.status_code == 422
        assert "Saisissez un nombre entier de jours, de 1 à 3650" in site.text(wrong.text)
        assert 'aria-invalid="true"' in wrong.text
    assert demo.clock.now() == before
    one = site.post("/demo/horloge", {"jours": "1"}, csrf_from="/demo")
    assert "L'horloge a avancé de 1 jour ;" in site.text(one.text)
    assert site.get("/demo/courriels/1").status_code == 404
    assert site.get("/demo/courriers/1").status_code == 404
    assert site.get("/demo/courriels/un").status_code == 404


def test_demo_is_not_served_unless_the_settings_say_so(demo: DemoServer) -> None:
    controls = DemoControls(
        now=demo.clock.now,
        advance=demo.clock.advance,
        emails=lambda: (),
        letters=lambda: (),
    )
    off = create_app(demo.platform, WebSettings(secret_key=SECRET), demo=controls)
    with TestClient(off, base_url="https://testserver") as client:
        assert client.get("/demo").status_code == 404
        assert 'href="/demo"' not in client.get("/").text
    with pytest.raises(ConfigError, match="DemoControls"):
        create_app(demo.platform, WebSettings(secret_key=SECRET, demo=True))
    on = create_app(demo.platform, WebSettings(secret_key=SECRET, demo=True), demo=controls)
    with TestClient(on, base_url="https://testserver") as client:
        text = Site.text(client.get("/demo").text)
        assert "Aucun courriel pour l'instant" in text and "Aucun courrier" in text


def test_links_are_cut_out_of_the_text() -> None:
    assert linked("Cliquez : https://a.example/x?jeton=1. Merci") == [
        ("Cliquez : ", False),
        ("https://a.example/x?jeton=1", True),
        (". Merci", False),
    ]
    assert linked("http://a.example") == [("http://a.example", True)]
    assert linked("") == []


# --- the real thing ---------------------------------------------------------------------


def test_the_command_really_serves_until_terminated() -> None:
    port = free_port()
    script = Path(sys.executable).parent / "peps-onboarding"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "peps_onboarding"]
    process = subprocess.Popen(  # noqa: S603 (our own command and arguments)
        [*command, "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        home = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    home = answer.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert home is not None and "Accéder à la Plateforme Employeurs Publics" in home
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo", timeout=5) as answer:
            assert answer.status == 200
            assert "Avancer l'horloge" in Site.text(answer.read().decode())
    finally:
        process.terminate()
        try:
            out, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err
    assert f"Ouvrez http://127.0.0.1:{port}/" in out and "Démonstration arrêtée." in out
