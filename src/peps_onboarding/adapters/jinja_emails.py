"""The production :class:`~peps_onboarding.ports.EmailRenderer`: Jinja2 templates, text and HTML.

The French wording lives in ``peps_onboarding/templates/emails/``: one
``<kind>.txt.j2`` and one ``<kind>.html.j2`` per :class:`EmailKind`, on a shared base
whose footer says the e-mail comes from an automaton (M1). The subject is set once,
in the text template (``{% set subject = … %}``), and handed to the HTML one.

Templates only ever see the values computed here, never the notification's raw facts:
a fact that no template names (a password slipped in by mistake) cannot reach an
e-mail (M4). HTML is autoescaped, and a missing variable is an error, not a blank.
"""

from __future__ import annotations

from datetime import datetime

from attrs import field, frozen
from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from ..domain.account import Profile
from ..domain.notifications import EmailKind, EmailMessage, EmailNotification
from ..domain.policy import Policy
from ..domain.wording import (
    agreed,
    is_feminine,
    paris_date,
    paris_date_time,
    withdrawal_sentence,
)

__all__ = ["JinjaEmailRenderer"]

# Kinds whose whole point is a link: rendering one without it is a wiring error.


def _default_loader() -> BaseLoader:
    return PackageLoader("peps_onboarding", "templates/emails")


@frozen(kw_only=True)
class JinjaEmailRenderer:
    """Renders every owed e-mail (M1) in French, as plain text and HTML.

    ``policy`` gives the link validity in days when the notification does not state it
    (fact ``validity_days``). Dates and times are Paris time, and say so. ``privacy_url``
    is where the footer's « Découvrez comment nous traitons vos données » leads: the
    seed's link has no address, so a host names its page; without one the line names
    the platform (never a link that could be wrong, nor the real platform from a
    demo). ``loader`` lets a host put its own templates first (a
    ``jinja2.ChoiceLoader``); the environment settings (autoescape, strict undefined)
    stay ours.
    """

    policy: Policy = field(factory=Policy)
    privacy_url: str | None = None
    loader: BaseLoader = field(factory=_default_loader)
    _environment: Environment = field(init=False, repr=False)

    @_environment.default
    def _build_environment(self) -> Environment:
        return Environment(
            loader=self.loader,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(
        self, notification: EmailNotification, *, message_id: str, link_url: str | None
    ) -> EmailMessage:
        """Subject, text and HTML of one e-mail; ``link_url`` carries the raw token (M4)."""
        if notification.kind.carries_link and link_url is None:
            raise ValueError(f"a {notification.kind.value} e-mail needs its link")
        context = self._context(notification, link_url)
        name = notification.kind.value
        text_module = self._environment.get_template(f"{name}.txt.j2").make_module(context)
        subject = vars(text_module).get("subject")  # the text template's ``{% set subject %}``
        if not isinstance(subject, str) or not subject:
            raise ValueError(f"the template {name}.txt.j2 must set a subject")
        html = self._environment.get_template(f"{name}.html.j2").render(
            {**context, "subject": subject}
        )
        return EmailMessage(
            message_id=message_id,
            to=notification.to,
            subject=subject,
            text=str(text_module),
            html=html,
            kind=notification.kind,
            link_url=link_url,
        )

    def _context(self, notification: EmailNotification, link_url: str | None) -> dict[str, object]:
        """Every value a template may show, and nothing else."""
        fact = notification.fact
        created_by = fact("created_by")
        return {
            "recipient": notification.recipient,
            # Agreement with the recipient's civilité: « Vous serez informée » (M1).
            "informed": agreed(notification.feminine, "informé", "informée"),
            "recipient_administrator": agreed(
                notification.feminine, "administrateur", "administratrice"
            ),
            "user_profile": Profile.USER.label,
            "privacy_url": _checked_url(self.privacy_url or "", "privacy_url"),
            "siret": notification.siret,
            "designation": notification.designation,
            "identifier": notification.identifier or "",
            "link_url": _checked_url(link_url or "", "link_url"),
            "validity_days": self._validity_days(notification),
            "link_expires_at": self._link_expiry(notification),
            # PASSWORD_CREATION: an account made by an administrator (R5) names them;
            # without it, the e-mail is the classic path's (C5).
            "created_by": created_by,
            "created_by_administrator": agreed(
                is_feminine(None, created_by), "administrateur", "administratrice"
            ),
            "withdrawal_url": _checked_url(fact("withdrawal_url"), "withdrawal_url"),
            "new_user": fact("new_user"),
            "new_user_identifier": fact("new_user_identifier"),
            "registered_on": self._day(fact("registered_on")),
            "login_url": _checked_url(fact("login_url"), "login_url"),
            # Rule C9: who withdrew, as a sentence (« Cette annulation a été faite à votre
            # demande. »), never a code or a fragment after « par : ».
            "withdrawal_sentence": withdrawal_sentence(fact("withdrawn_by")),
        }

    def _validity_days(self, notification: EmailNotification) -> int:
        """Rules C5 and A5: the days the link lasts, stated by the use case or the policy's."""
        stated = notification.fact("validity_days")
        if stated:
            return int(stated)
        if notification.kind is EmailKind.PASSWORD_RESET:
            return self.policy.reset_link_validity.days
        return self.policy.creation_link_validity.days

    def _link_expiry(self, notification: EmailNotification) -> str:
        if notification.link is None:
            return ""
        return paris_date_time(notification.link.expires_at)

    def _day(self, value: str) -> str:
        """An ISO date or date-time fact as JJ/MM/AAAA (Paris time); other text as given."""
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return paris_date(moment)
        return f"{moment:%d/%m/%Y}"


def _checked_url(url: str, name: str) -> str:
    """Autoescaping does not stop a ``javascript:`` link: only web addresses go in a button."""
    if url and not url.startswith(("https://", "http://")):
        raise ValueError(f"{name} must be an http(s) URL")
    return url
