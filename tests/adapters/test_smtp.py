"""SmtpMailer against a real SMTP server (aiosmtpd) on the loopback interface."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage
from email.utils import parsedate_to_datetime
from typing import Any, cast

import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from peps_onboarding.adapters.smtp import SmtpMailer, SmtpSecurity, SmtpSettings
from peps_onboarding.domain.errors import NotificationDeliveryError, NotificationRefusedError
from peps_onboarding.domain.notifications import EmailKind, EmailMessage

HOST = "127.0.0.1"
USERNAME = "pep-relay"
PASSWORD = "S3cret-relay-p@ss"
TOKEN = "raw-token-4f9c2a7d1e0b"  # stands for the link's raw token (M4)
LINK = f"https://pep.example/mot-de-passe/creer?jeton={TOKEN}"

StartServer = Callable[..., "LiveServer"]


def free_port() -> int:
    """aiosmtpd cannot listen on port 0: ask the system for a free port, then release it."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class Delivery:
    """What the server received, and how."""

    mail_from: str | None
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool

    @property
    def message(self) -> MimeMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, MimeMessage)
        return parsed


@attrs.define
class Recorder:
    """An aiosmtpd handler that keeps every message; it can refuse recipients or dawdle."""

    refuse_recipients: bool = False
    recipient_reply: str = "550 5.1.1 Destinataire inconnu"  # when refusing recipients
    data_reply: str = "250 Message accepted for delivery"
    data_delay: float = 0.0  # seconds before answering the end of DATA
    deliveries: list[Delivery] = attrs.field(factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse_recipients:
            return self.recipient_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if not self.data_reply.startswith("2"):
            return self.data_reply
        transport = server.transport
        assert transport is not None
        assert isinstance(envelope.original_content, bytes)
        self.deliveries.append(
            Delivery(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                tls=transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return self.data_reply


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accepts only USERNAME / PASSWORD."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> Callable[[], ssl.SSLContext]:
    """A client context factory that trusts the test CA (and verifies, as always)."""

    def factory() -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        return context

    return factory


@attrs.frozen
class LiveServer:
    port: int
    recorder: Recorder

    @property
    def deliveries(self) -> list[Delivery]:
        return self.recorder.deliveries

    def the_only(self) -> Delivery:
        assert len(self.deliveries) == 1
        return self.deliveries[0]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Starts aiosmtpd controllers on free loopback ports; stops them all afterwards."""
    controllers: list[Controller] = []

    def start(recorder: Recorder | None = None, **smtp_options: Any) -> LiveServer:
        handler = recorder or Recorder()
        port = free_port()
        controller = Controller(
            handler, hostname=HOST, port=port, server_hostname="mx.test", **smtp_options
        )
        controller.start()
        controllers.append(controller)
        return LiveServer(port=port, recorder=handler)

    yield start
    for controller in controllers:
        controller.stop()


def settings(port: int, security: SmtpSecurity = "none", **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": HOST,
        "port": port,
        "security": security,
        "sender_address": "ne-pas-repondre@pep.example",
        "sender_name": "Plateforme Employeurs Publics Pep's",
        "timeout": 5.0,
        "local_hostname": "client.test",
    }
    values.update(overrides)
    return SmtpSettings(**values)


def message(*, html: bool = True, message_id: str = "01HV6Z9K3Q2W") -> EmailMessage:
    return EmailMessage(
        message_id=message_id,
        to="Jean.Dupont@mairie.example",
        subject="Vous pouvez créer votre mot de passe",
        text=f"Bonjour Monsieur Jean Dupont,\nCréer mon mot de passe : {LINK}\n",
        html=f'<p>Bonjour,</p><p><a href="{LINK}">Créer mon mot de passe</a></p>' if html else None,
        kind=EmailKind.PASSWORD_CREATION,
        link_url=LINK,
    )


def assert_safe(error: NotificationDeliveryError) -> None:
    """The reason goes to the outbox: never the relay password, the body or the token."""
    for text in (str(error), repr(error), error.text):
        assert PASSWORD not in text
        assert TOKEN not in text
        assert "Bonjour" not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


@pytest.mark.rule("M1")
def test_message_arrives_with_headers_and_both_parts(start_server: StartServer) -> None:
    """A sent e-mail reaches the server with its envelope, headers, text and HTML parts."""
    server = start_server()
    SmtpMailer(settings(server.port)).send(message())

    delivery = server.the_only()
    assert delivery.mail_from == "ne-pas-repondre@pep.example"
    assert delivery.rcpt_tos == ["Jean.Dupont@mairie.example"]
    received = delivery.message
    assert received["From"] == "Plateforme Employeurs Publics Pep's <ne-pas-repondre@pep.example>"
    assert received["To"] == "Jean.Dupont@mairie.example"
    assert received["Subject"] == "Vous pouvez créer votre mot de passe"
    assert received["Message-ID"] == "<01HV6Z9K3Q2W@pep.example>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["X-Auto-Response-Suppress"] == "All"
    assert parsedate_to_datetime(str(received["Date"])).utcoffset() == timedelta(0)
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert isinstance(text, MimeMessage)
    assert isinstance(html, MimeMessage)
    assert "Créer mon mot de passe" in text.get_content()
    assert LINK in text.get_content()
    assert f'href="{LINK}"' in html.get_content()


@pytest.mark.rule("M1")
def test_accented_headers_and_bodies_travel_as_7bit(start_server: StartServer) -> None:
    """French accents are MIME-encoded: the raw message is pure ASCII, and decodes intact."""
    server = start_server()
    SmtpMailer(settings(server.port)).send(message())

    raw = server.the_only().content
    assert raw.isascii()
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: Vous pouvez =?utf-8?q?cr=C3=A9er?= votre mot de passe" in headers
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    assert "créer" in str(server.the_only().message["Subject"])


@pytest.mark.rule("M1")
def test_text_only_message_is_a_single_plain_part(start_server: StartServer) -> None:
    """Without HTML, the e-mail is one text/plain part, not an empty alternative."""
    server = start_server()
    SmtpMailer(settings(server.port)).send(message(html=False))

    received = server.the_only().message
    assert received.get_content_type() == "text/plain"
    assert LINK in received.get_content()


@pytest.mark.rule("M3")
def test_message_id_is_stable_across_retries(start_server: StartServer) -> None:
    """Two sends of one outbox message carry the same Message-ID, so receivers can dedupe."""
    server = start_server()
    mailer = SmtpMailer(settings(server.port))
    mailer.send(message())
    mailer.send(message())

    assert [d.message["Message-ID"] for d in server.deliveries] == [
        "<01HV6Z9K3Q2W@pep.example>",
        "<01HV6Z9K3Q2W@pep.example>",
    ]


@pytest.mark.rule("M3")
def test_message_id_is_derived_stably_from_an_id_unfit_for_the_header() -> None:
    """An outbox id with characters a Message-ID cannot hold becomes a stable digest."""
    mailer = SmtpMailer(settings(25))
    first = mailer.compose(message(message_id="a b<c>"), date="Mon, 13 May 2024 10:00:00 GMT")
    again = mailer.compose(message(message_id="a b<c>"), date="Mon, 13 May 2024 11:00:00 GMT")
    assert first["Message-ID"] == again["Message-ID"]
    assert str(first["Message-ID"]).endswith("@pep.example>")
    assert " " not in str(first["Message-ID"])


@pytest.mark.rule("M4")
def test_starttls_with_authentication_delivers(
    start_server: StartServer, ca: trustme.CA, server_tls: ssl.SSLContext
) -> None:
    """STARTTLS with a verified certificate, then AUTH, then the message: all encrypted."""
    server = start_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    mailer = SmtpMailer(
        settings(
            server.port,
            "starttls",
            username=USERNAME,
            password=PASSWORD,
            ssl_context_factory=trusting(ca),
        )
    )
    mailer.send(message())

    delivery = server.the_only()
    assert delivery.tls
    assert delivery.authenticated
    assert delivery.message["Subject"] == "Vous pouvez créer votre mot de passe"


@pytest.mark.rule("M4")
def test_implicit_tls_delivers(
    start_server: StartServer, ca: trustme.CA, server_tls: ssl.SSLContext
) -> None:
    """Implicit TLS (SMTP over TLS, port 465 style) with a verified certificate delivers."""
    server = start_server(ssl_context=server_tls)
    SmtpMailer(settings(server.port, "tls", ssl_context_factory=trusting(ca))).send(message())

    assert server.the_only().tls


@pytest.mark.rule("M3", "M4")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_certificate_is_refused(
    start_server: StartServer, server_tls: ssl.SSLContext, security: SmtpSecurity
) -> None:
    """A certificate from a CA the client does not trust fails delivery; nothing is sent."""
    options: dict[str, Any] = (
        {"tls_context": server_tls, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": server_tls}
    )
    server = start_server(**options)
    mailer = SmtpMailer(
        settings(
            server.port,
            security,
            username=USERNAME,
            password=PASSWORD,
            ssl_context_factory=trusting(trustme.CA()),
        )
    )
    with pytest.raises(NotificationDeliveryError, match="certificat") as caught:
        mailer.send(message())

    assert server.deliveries == []
    assert_safe(caught.value)


@pytest.mark.rule("M3", "M4")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_for_another_host_name_is_refused(
    start_server: StartServer, ca: trustme.CA, security: SmtpSecurity
) -> None:
    """A trusted certificate issued for another host name fails delivery (name checked)."""
    elsewhere = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mx.elsewhere.example").configure_cert(elsewhere)
    options: dict[str, Any] = (
        {"tls_context": elsewhere, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": elsewhere}
    )
    server = start_server(**options)
    mailer = SmtpMailer(settings(server.port, security, ssl_context_factory=trusting(ca)))
    with pytest.raises(NotificationDeliveryError, match="certificat") as caught:
        mailer.send(message())

    assert server.deliveries == []
    assert_safe(caught.value)


@pytest.mark.rule("M4")
def test_a_context_that_does_not_verify_is_refused_at_construction() -> None:
    """Certificate and host-name verification cannot be switched off through the factory."""

    def careless() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    with pytest.raises(ValueError, match="verify"):
        SmtpMailer(settings(465, "tls", ssl_context_factory=careless))


@pytest.mark.rule("M3", "M4")
def test_starttls_missing_on_the_server_is_a_failure_not_a_downgrade(
    start_server: StartServer, ca: trustme.CA
) -> None:
    """A server that offers no STARTTLS gets nothing: no credentials, no message in clear."""
    server = start_server()
    mailer = SmtpMailer(
        settings(
            server.port,
            "starttls",
            username=USERNAME,
            password=PASSWORD,
            ssl_context_factory=trusting(ca),
        )
    )
    with pytest.raises(NotificationDeliveryError, match="STARTTLS") as caught:
        mailer.send(message())

    assert server.deliveries == []
    assert_safe(caught.value)


@pytest.mark.rule("M3")
def test_connection_refused_is_a_delivery_error() -> None:
    """Nothing listening on the port: delivery fails with a retryable error."""
    mailer = SmtpMailer(settings(free_port()))
    with pytest.raises(NotificationDeliveryError, match="refusée") as caught:
        mailer.send(message())
    assert_safe(caught.value)


@pytest.mark.rule("M3", "M4")
def test_refused_recipient_is_a_delivery_error(start_server: StartServer) -> None:
    """A 550 on RCPT fails delivery; the reason keeps the code, not the address nor body."""
    server = start_server(Recorder(refuse_recipients=True))
    mailer = SmtpMailer(settings(server.port))
    with pytest.raises(NotificationDeliveryError, match="550") as caught:
        mailer.send(message())

    assert server.deliveries == []
    assert_safe(caught.value)
    assert "Jean.Dupont" not in str(caught.value)


@pytest.mark.rule("M3", "M4")
def test_authentication_failure_is_a_delivery_error_without_the_password(
    start_server: StartServer, ca: trustme.CA, server_tls: ssl.SSLContext
) -> None:
    """Wrong relay credentials fail delivery; the password appears nowhere in the error."""
    server = start_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    wrong = PASSWORD + "-wrong"
    mailer = SmtpMailer(
        settings(
            server.port,
            "starttls",
            username=USERNAME,
            password=wrong,
            ssl_context_factory=trusting(ca),
        )
    )
    with pytest.raises(NotificationDeliveryError, match="authentification") as caught:
        mailer.send(message())

    assert server.deliveries == []
    assert_safe(caught.value)
    assert wrong not in str(caught.value)
    # A 535 concerns every message: retried (the configuration gets fixed), never dead.
    assert not isinstance(caught.value, NotificationRefusedError)


@pytest.mark.rule("M3")
def test_a_5xx_on_the_recipient_is_a_permanent_refusal(start_server: StartServer) -> None:
    """A 550 on RCPT will not change on retry: ``NotificationRefusedError`` (a dead letter)."""
    server = start_server(Recorder(refuse_recipients=True))
    with pytest.raises(NotificationRefusedError, match="550") as caught:
        SmtpMailer(settings(server.port)).send(message())
    assert caught.value.code == "notification.refused"
    assert_safe(caught.value)


@pytest.mark.rule("M3")
def test_a_4xx_on_the_recipient_is_retried_not_refused(start_server: StartServer) -> None:
    """A 450 (mailbox busy, greylisting) is temporary: a plain, retryable delivery error."""
    server = start_server(Recorder(refuse_recipients=True, recipient_reply="450 4.2.1 Occupé"))
    with pytest.raises(NotificationDeliveryError, match="450") as caught:
        SmtpMailer(settings(server.port)).send(message())
    assert not isinstance(caught.value, NotificationRefusedError)


@pytest.mark.rule("M3")
def test_a_5xx_on_the_message_is_a_permanent_refusal(start_server: StartServer) -> None:
    """A 554 after DATA refuses this message's content for good."""
    server = start_server(Recorder(data_reply="554 5.7.1 Message refusé"))
    with pytest.raises(NotificationRefusedError, match="554") as caught:
        SmtpMailer(settings(server.port)).send(message())
    assert_safe(caught.value)
    assert server.deliveries == []


@pytest.mark.rule("M1", "M3")
def test_an_address_needing_smtputf8_is_refused_by_a_relay_without_it(
    start_server: StartServer,
) -> None:
    """Accents before « @ » need SMTPUTF8: a relay without it refuses the message for good
    (nothing sent), one with it delivers."""
    accented = attrs.evolve(message(), to="jérôme.durand@mairie.example")
    plain = start_server(enable_SMTPUTF8=False)  # aiosmtpd's Controller offers it by default
    with pytest.raises(NotificationRefusedError, match="SMTPUTF8") as caught:
        SmtpMailer(settings(plain.port)).send(accented)
    assert_safe(caught.value)
    assert plain.deliveries == []
    utf8 = start_server(enable_SMTPUTF8=True)
    SmtpMailer(settings(utf8.port)).send(accented)
    assert utf8.the_only().rcpt_tos == ["jérôme.durand@mairie.example"]


@pytest.mark.rule("M3")
def test_server_that_never_answers_times_out() -> None:
    """A server that accepts the connection but never greets fails after the timeout."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as silent:
        silent.bind((HOST, 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever answers
        mailer = SmtpMailer(settings(silent.getsockname()[1], timeout=0.2))
        with pytest.raises(NotificationDeliveryError, match="pas répondu") as caught:
            mailer.send(message())
    assert_safe(caught.value)


@pytest.mark.rule("M3", "M4")
def test_server_too_slow_to_accept_the_message_times_out(start_server: StartServer) -> None:
    """A server that takes longer than the timeout to answer DATA fails delivery."""
    server = start_server(Recorder(data_delay=2.0))
    mailer = SmtpMailer(settings(server.port, timeout=0.3))
    with pytest.raises(NotificationDeliveryError, match=r"pas répondu en 0\.3 s") as caught:
        mailer.send(message())
    assert_safe(caught.value)


@pytest.mark.rule("M4")
def test_settings_keep_the_password_out_of_repr_and_off_clear_text() -> None:
    """The relay password is hidden from repr, and refused on an unencrypted connection."""
    secured = settings(587, "starttls", username=USERNAME, password=PASSWORD)
    assert PASSWORD not in repr(secured)
    assert PASSWORD not in repr(SmtpMailer(secured))
    with pytest.raises(ValueError, match="security"):
        settings(25, "none", username=USERNAME, password=PASSWORD)
    with pytest.raises(ValueError, match="together"):
        settings(587, "starttls", username=USERNAME)
    with pytest.raises(ValueError, match="security"):
        settings(25, cast(SmtpSecurity, "ssl"))
