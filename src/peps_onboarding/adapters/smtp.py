"""The production :class:`~peps_onboarding.ports.Mailer`: SMTP through the standard library.

One connection per message: the outbox dispatcher (M3) sends rarely and retries on
failure, so a pooled connection would only add states to get wrong. Every failure
becomes a :class:`~peps_onboarding.domain.errors.NotificationDeliveryError` (retried),
or its :class:`~peps_onboarding.domain.errors.NotificationRefusedError` when the relay
refused this message for good (a dead letter at once). Its text is safe to store in
the outbox: it never holds the SMTP password nor the body, which carries a raw link
token (M4). Nothing here logs.
"""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate
from typing import Literal

from attrs import field, frozen, validators

from ..domain.errors import NotificationDeliveryError, NotificationRefusedError
from ..domain.notifications import EmailMessage

__all__ = ["SmtpMailer", "SmtpSecurity", "SmtpSettings"]

SmtpSecurity = Literal["none", "starttls", "tls"]

# RFC 5322 dot-atom-text: what may stand left of the "@" of a Message-ID.
_MESSAGE_ID_LOCAL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_REASON_MAX = 160


def _has_domain(_instance: object, _attribute: object, value: str) -> None:
    local, at, domain = value.rpartition("@")
    if not (at and local and domain):
        raise ValueError(f"sender_address must be an e-mail address, got {value!r}")


@frozen(kw_only=True)
class SmtpSettings:
    """How to reach the SMTP relay.

    ``security`` is ``"starttls"`` (submission port 587), ``"tls"`` (implicit TLS,
    port 465) or ``"none"`` (a trusted relay on the local network only: credentials
    are then refused, as they would cross the network in clear). Certificate and host
    name verification cannot be turned off; ``ssl_context_factory`` exists so that a
    host (or a test) can trust a private CA.
    """

    host: str
    port: int
    security: SmtpSecurity = field(
        default="starttls", validator=validators.in_(("none", "starttls", "tls"))
    )
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender_address: str = field(validator=_has_domain)
    sender_name: str = "Plateforme Employeurs Publics Pep's"
    timeout: float = 30.0
    local_hostname: str | None = None  # the EHLO name; None asks the system (a DNS look-up)
    ssl_context_factory: Callable[[], ssl.SSLContext] = ssl.create_default_context

    def __attrs_post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.security == "none":
            raise ValueError("SMTP credentials need security='starttls' or 'tls'")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2]


@frozen
class SmtpMailer:
    """Sends each :class:`~peps_onboarding.domain.notifications.EmailMessage` over SMTP."""

    settings: SmtpSettings

    def __attrs_post_init__(self) -> None:
        if self.settings.security != "none":
            self._tls_context()  # a context that does not verify is a wiring error: fail now

    def send(self, message: EmailMessage) -> None:
        """Delivers one message; raises ``NotificationDeliveryError`` when the relay won't."""
        mime = self.compose(message, date=formatdate(localtime=False, usegmt=True))
        try:
            self._deliver(mime)
        except OSError as error:  # smtplib, ssl and socket errors are all OSErrors
            # ``from None``: the smtplib exception may quote what the server echoed back.
            if _refused_for_good(error):
                raise NotificationRefusedError(self._reason(error)) from None
            raise NotificationDeliveryError(self._reason(error)) from None

    def compose(self, message: EmailMessage, *, date: str) -> MimeMessage:
        """The MIME message: text, plus an HTML alternative when there is one.

        The Message-ID derives from ``message.message_id`` only, so every retry of the
        same outbox message carries the same one and receivers can drop duplicates.
        """
        mime = MimeMessage(policy=email.policy.SMTP)
        mime["From"] = Address(
            display_name=self.settings.sender_name, addr_spec=self.settings.sender_address
        )
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = date
        mime["Message-ID"] = (
            f"<{_message_id_local(message.message_id)}@{self.settings.sender_domain}>"
        )
        # RFC 3834, and its Exchange equivalent: no out-of-office replies to an automaton.
        mime["Auto-Submitted"] = "auto-generated"
        mime["X-Auto-Response-Suppress"] = "All"
        # Quoted-printable keeps the bodies 7-bit: no reliance on the relay's 8BITMIME.
        mime.set_content(message.text, subtype="plain", cte="quoted-printable")
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html", cte="quoted-printable")
        return mime

    def _tls_context(self) -> ssl.SSLContext:
        context = self.settings.ssl_context_factory()
        if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
            raise ValueError("the SMTP TLS context must verify the certificate and host name")
        return context

    def _deliver(self, mime: MimeMessage) -> None:
        settings = self.settings
        client: _Client
        if settings.security == "tls":
            client = _TlsClient(
                local_hostname=settings.local_hostname,
                timeout=settings.timeout,
                context=self._tls_context(),
            )
        else:
            client = _Client(local_hostname=settings.local_hostname, timeout=settings.timeout)
        try:
            code, reply = client.open(settings.host, settings.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            if settings.security == "starttls":
                # Raises SMTPNotSupportedError when the server offers no STARTTLS: never
                # fall back to clear text.
                client.starttls(context=self._tls_context())
                client.ehlo()
            if settings.username is not None and settings.password is not None:
                client.login(settings.username, settings.password)
            try:
                refused = client.send_message(mime)
            except smtplib.SMTPNotSupportedError as error:  # only SMTPUTF8 is asked for here
                raise _SmtpUtf8Unsupported(*error.args) from None
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            # The relay has accepted the message: a failing QUIT must not cause a retry,
            # which would deliver it twice.
            with contextlib.suppress(OSError):
                client.quit()
        finally:
            client.close()

    def _reason(self, error: BaseException) -> str:
        """A short, storable reason: the kind of failure and the server's status code."""
        reason: str
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = sorted({str(code) for code, _ in error.recipients.values()})
            reason = f"destinataire refusé par le serveur SMTP ({', '.join(codes)})"
        elif isinstance(error, smtplib.SMTPAuthenticationError):
            reason = f"authentification SMTP refusée ({error.smtp_code})"
        elif isinstance(error, smtplib.SMTPSenderRefused):
            reason = f"expéditeur refusé par le serveur SMTP ({error.smtp_code})"
        elif isinstance(error, _SmtpUtf8Unsupported):
            reason = "le serveur SMTP ne prend pas SMTPUTF8, que cette adresse exige"
        elif isinstance(error, smtplib.SMTPNotSupportedError):
            reason = (
                "le serveur SMTP ne propose pas une extension requise (STARTTLS, AUTH, SMTPUTF8)"
            )
        elif isinstance(error, smtplib.SMTPResponseException):
            reason = f"réponse d'erreur du serveur SMTP ({error.smtp_code})"
        elif isinstance(error, ssl.SSLCertVerificationError):
            reason = f"certificat du serveur SMTP refusé ({error.verify_message})"
        elif isinstance(error, ssl.SSLError):
            reason = f"échec de la négociation TLS avec le serveur SMTP ({error.reason})"
        elif isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
            # smtplib turns a timeout while reading a reply into SMTPServerDisconnected.
            reason = f"le serveur SMTP n'a pas répondu en {self.settings.timeout:g} s"
        elif isinstance(error, smtplib.SMTPServerDisconnected):
            reason = "connexion SMTP interrompue par le serveur"
        elif isinstance(error, ConnectionRefusedError):
            reason = "connexion SMTP refusée"
        else:
            reason = f"échec SMTP ({type(error).__name__})"
        where = f"{self.settings.host}:{self.settings.port}"
        text = f"{reason} [{where}]"[:_REASON_MAX]
        if self.settings.password:  # belt and braces: no branch above quotes it
            text = text.replace(self.settings.password, "***")
        return text


class _SmtpUtf8Unsupported(smtplib.SMTPNotSupportedError):
    """The message's addresses need SMTPUTF8 and the relay does not offer it."""


def _refused_for_good(error: OSError) -> bool:
    """Rule M3: whether the relay refused *this message* permanently, so that sending it
    again would fail the same way: a 5xx on its recipient (RFC 5321 §4.2.1) or on its
    content (after DATA), or an address that needs SMTPUTF8 from a relay without it.
    A 5xx on what every message shares (authentication, the sender) is the relay's or
    the configuration's problem, not the message's: retried like an outage, so that
    fixing the configuration lets the backlog through without an operator."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return isinstance(error, _SmtpUtf8Unsupported)


class _Client(smtplib.SMTP):
    """``smtplib.SMTP`` connected apart from its constructor.

    The constructor connects when given a host, and leaks the socket when the greeting
    fails (a timeout); connecting here instead lets ``close`` run on every path. The
    constructor is also the only place that records the host name that TLS verifies the
    certificate against, hence ``_host``.
    """

    def open(self, host: str, port: int) -> tuple[int, bytes]:
        self._host = host
        return self.connect(host, port)


class _TlsClient(_Client, smtplib.SMTP_SSL):
    """Implicit TLS: the socket is wrapped (and the certificate verified) on connect."""


def _message_id_local(message_id: str) -> str:
    """The outbox id when it is a valid Message-ID left part, else a stable digest of it."""
    if _MESSAGE_ID_LOCAL.fullmatch(message_id):
        return message_id
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
