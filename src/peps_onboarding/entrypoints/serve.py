"""``peps-onboarding serve --demo``: the screens in a browser, on a demonstration platform.

A demonstration by construction, like ``demo``: a SQLite file in a temporary folder (or
``--data``), the sample directory, a simulated clock that starts now and moves only
from the ``/demo`` page, e-mails and letters kept in memory and shown on that page, the
image-choice security check (drawn locally, no network), Net-Entreprises simulated. A
random session key per run. Production serving is not this command's job: a host
mounts :func:`peps_onboarding.web.create_app` in its own ASGI server (docs/web.md).

:func:`build_demo` builds everything but the server, so tests drive the application
through a test client; :func:`serve` adds uvicorn and a thread that dispatches what is
owed every second, as a worker would.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from attrs import frozen
from starlette.applications import Starlette

from ..adapters.captcha.image_choice import ImageChoiceCaptcha
from ..adapters.clock import FakeClock
from ..adapters.memory import InMemoryNetEntreprisesVerifier
from ..adapters.sql.stores import SqlDatabase
from ..application.platform import Platform
from ..application.rendering import PARIS
from ..bootstrap import build
from ..domain.notifications import EmailMessage, Letter
from ..ports import CaptchaVerifier, EmailRenderer, PasswordHasher
from ..testing.samples import SAMPLE_ESTABLISHMENTS, sample_directory
from ..web import WebSettings, create_app
from ..web.demo import DemoControls, DemoSample, SentEmail, SentLetter

__all__ = ["DemoServer", "ServeError", "build_demo", "serve"]

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
DISPATCH_INTERVAL = 1.0
#: Simulated Net-Entreprises accounts (SIRET, nom, prénom, mot de passe), as in ``demo``.
NET_ENTREPRISES = (
    ("21330063500017", "Martin", "Paul", "NE-secret-42"),
    ("21971101700018", "Jean-Baptiste", "Marie", "NE-Abymes-7"),
)
IMAGE_CHOICE_HINT = (
    "cliquez sur l'image que la consigne nomme (« Cliquer sur l'image Trombone » : le "
    "trombone) ; la réponse est sur les images. La version sonore attend le mot "
    "prononcé."
)
MEMORY_CHECK_HINT = "répondez « trombone » (version sonore) ou cliquez sur l'image Trombone."

log = logging.getLogger(__name__)


def demo_samples() -> tuple[DemoSample, ...]:
    """The sample directory's pairs, with what each shows at step 1."""
    samples = []
    for row in SAMPLE_ESTABLISHMENTS:
        if row.contract is None:
            continue
        if row.closed:
            note = "établissement fermé : l'inscription est refusée"
        elif any(siret == row.siret for siret, *_ in NET_ENTREPRISES):
            note = "a aussi un compte Net-Entreprises simulé"
        else:
            note = ""
        samples.append(
            DemoSample(
                siret=row.siret, contract=row.contract, designation=row.designation, note=note
            )
        )
    return tuple(samples)


class _Kept:
    """What the demonstration's mailer and letter sender were asked to send, with the
    simulated time; idempotent on the message or letter id, as the real ones are."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.emails: list[SentEmail] = []
        self.letters: list[SentLetter] = []

    def send_email(self, message: EmailMessage) -> None:
        with self._lock:
            if all(kept.message.message_id != message.message_id for kept in self.emails):
                self.emails.append(SentEmail(at=self._clock.now(), message=message))

    def send_letter(self, letter: Letter) -> None:
        with self._lock:
            if all(kept.letter.letter_id != letter.letter_id for kept in self.letters):
                self.letters.append(SentLetter(at=self._clock.now(), letter=letter))

    def sent_emails(self) -> Sequence[SentEmail]:
        with self._lock:
            return tuple(self.emails)

    def sent_letters(self) -> Sequence[SentLetter]:
        with self._lock:
            return tuple(self.letters)


class _Mailer:
    def __init__(self, kept: _Kept) -> None:
        self.send = kept.send_email


class _Letters:
    def __init__(self, kept: _Kept) -> None:
        self.send = kept.send_letter


def _renderer() -> EmailRenderer | None:
    """HTML and text e-mails when the [emails] extra is installed, else plain text."""
    try:
        from ..adapters.jinja_emails import JinjaEmailRenderer
    except ImportError:  # pragma: no cover - the [emails] extra is not installed
        return None
    return JinjaEmailRenderer()


@frozen(kw_only=True)
class DemoServer:
    """The demonstration's application and what it runs on."""

    app: Starlette
    platform: Platform
    clock: FakeClock
    database: SqlDatabase
    base_url: str
    samples: tuple[DemoSample, ...]

    def dispatch_until(self, stop: threading.Event, interval: float = DISPATCH_INTERVAL) -> None:
        """What a worker does, until ``stop``: the e-mails and letters owed go out."""
        while not stop.wait(interval):
            try:
                self.platform.dispatch_notifications()
            except Exception:  # the next pass tries again; the page keeps working
                log.exception("envoi de la démonstration en échec")


@contextmanager
def build_demo(
    *,
    base_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    data: Path | None = None,
    captcha: CaptchaVerifier | None = None,
    hasher: PasswordHasher | None = None,
    start: datetime | None = None,
) -> Iterator[DemoServer]:
    """The demonstration's application, on a SQLite file in ``data`` (else a temporary
    folder, removed afterwards). ``captcha`` defaults to the image choice; the clock
    starts at ``start`` (now by default)."""
    with ExitStack() as stack:
        if data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peps-demo-")))
        data.mkdir(parents=True, exist_ok=True)
        database = SqlDatabase(f"sqlite:///{data / 'onboarding.db'}")
        stack.callback(database.dispose)
        database.upgrade()
        clock = FakeClock(start or datetime.now(UTC))
        kept = _Kept(clock)
        net_entreprises = InMemoryNetEntreprisesVerifier()
        for siret, last_name, first_name, password in NET_ENTREPRISES:
            net_entreprises.register(
                siret=siret, last_name=last_name, first_name=first_name, password=password
            )
        captcha = captcha or ImageChoiceCaptcha(clock=clock)
        directory = sample_directory()
        platform = build(
            unit_of_work=database.unit_of_work,
            registry=directory,
            contracts=directory,
            net_entreprises=net_entreprises,
            captcha=captcha,
            mailer=_Mailer(kept),
            letters=_Letters(kept),
            secret=secrets.token_bytes(32),
            clock=clock,
            hasher=hasher,
            renderer=_renderer(),
            base_url=base_url,
            accept_test_email_domains=True,
        )
        samples = demo_samples()
        controls = DemoControls(
            now=clock.now,
            advance=clock.advance,
            emails=kept.sent_emails,
            letters=kept.sent_letters,
            samples=samples,
            security_check=(
                IMAGE_CHOICE_HINT if isinstance(captcha, ImageChoiceCaptcha) else MEMORY_CHECK_HINT
            ),
            net_entreprises=NET_ENTREPRISES,
        )
        settings = WebSettings(
            secret_key=secrets.token_urlsafe(48), secure_cookies=False, demo=True
        )
        yield DemoServer(
            app=create_app(platform, settings, demo=controls),
            platform=platform,
            clock=clock,
            database=database,
            base_url=base_url,
            samples=samples,
        )


def loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def link_host(host: str) -> str:
    """How the e-mails' links name the server: an unspecified address (0.0.0.0, ::)
    reaches this machine as 127.0.0.1; an IPv6 address goes in brackets."""
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return host
    if address.is_unspecified:
        return DEFAULT_HOST
    return f"[{bare}]" if address.version == 6 else bare


class ServeError(Exception):
    """Ends ``serve``: one French line, and the exit code."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line, self.code = line, code


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a :class:`ServeError` that says why not."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
    except OSError as error:
        sock.close()
        raise ServeError(
            f"Impossible d'écouter sur {host}:{port} ({error.strerror or error}) : "
            "le port est peut-être déjà pris, essayez --port 8001",
            2,
        ) from None
    return sock


def _stop(signum: int, frame: object) -> None:  # pragma: no cover - see below
    raise KeyboardInterrupt


def _run_uvicorn(app: Starlette, sock: socket.socket) -> None:  # pragma: no cover
    # Run by tests/test_serve.py's subprocess, which coverage does not follow. uvicorn
    # stops on SIGINT or SIGTERM, then raises the signal again for the handler it found:
    # both end here as KeyboardInterrupt, so the temporary folder is removed.
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    *,
    host: str | None,
    port: int,
    data: Path | None,
    out: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
    run: Callable[[Starlette, socket.socket], None] = _run_uvicorn,
) -> int:
    """Binds ``host:port`` (default 127.0.0.1:8000), prints where to open the screens
    and what to try, then serves until Ctrl+C (or SIGTERM)."""
    chosen = host or DEFAULT_HOST
    if not 1 <= port <= 65535:
        raise ServeError(f"Port invalide : {port} (de 1 à 65535)", 2)
    if not loopback(chosen):
        warn(
            f"Attention : la démonstration écoute sur {chosen}, hors de cette machine : "
            "toute personne qui joint cette adresse voit ses courriels et déplace son "
            "horloge. Elle n'a rien d'un service de production."
        )
    address = f"http://{link_host(chosen)}:{port}"
    sock = bind(chosen, port)
    with sock, build_demo(base_url=address, data=data) as demo:
        now = demo.clock.now()
        out("Démonstration de la Plateforme Employeurs Publics (rien ne part : tout reste")
        out("sur la page Démonstration).")
        out("")
        out(f"  Ouvrez {address}/ dans votre navigateur ;")
        out(f"  la page Démonstration ({address}/demo) avance l'horloge et montre les envois.")
        out("")
        out(f"  Horloge simulée : {paris(now)} (heure de Paris).")
        out(f"  Base de données : {demo.database.engine.url.database}")
        out("  À essayer à l'étape 1 de « Inscrire un établissement » (SIRET, contrat) :")
        for sample in demo.samples:
            note = f" — {sample.note}" if sample.note else ""
            out(f"    {sample.siret}  {sample.contract}  {sample.designation}{note}")
        out("  Contrôle de sécurité : la réponse est sur les images (l'image que la consigne")
        out("  nomme), ou le mot prononcé par la version sonore.")
        out("")
        out("  Ctrl+C pour arrêter.")
        stop = threading.Event()
        dispatcher = threading.Thread(
            target=demo.dispatch_until, args=(stop,), name="peps-demo-envois", daemon=True
        )
        dispatcher.start()
        try:
            run(demo.app, sock)
        finally:
            stop.set()
            dispatcher.join(timeout=5)
    out("Démonstration arrêtée.")
    return 0


def paris(moment: datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{local:%d/%m/%Y à %H:%M}"
