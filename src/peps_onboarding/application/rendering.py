"""French texts of the e-mails (M1), in plain text.

This renderer needs nothing beyond the standard library; the Jinja2 renderer in
:mod:`peps_onboarding.adapters.jinja_emails` adds the HTML part for production. Both
word things alike through :mod:`peps_onboarding.domain.wording`: the agreement with the
civilité, dates and times in Paris time said so, the seed's footer.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from ..domain.account import Profile
from ..domain.notifications import (
    EmailKind,
    EmailMessage,
    EmailNotification,
)
from ..domain.wording import (
    CLOSING,
    PARIS,
    PRIVACY_NOTICE,
    SIGNATURE_LINES,
    agreed,
    is_feminine,
    paris_date,
    paris_date_time,
    privacy_line,
    withdrawal_sentence,
)

__all__ = ["AUTOMATON_FOOTER", "PARIS", "PlainTextEmailRenderer", "local_date"]

AUTOMATON_FOOTER = (
    "***** IMPORTANT *****\nCet email vous a été envoyé par un automate. Merci de ne pas répondre."
)
SIGNATURE = "\n".join(SIGNATURE_LINES)


def local_date(moment: datetime) -> str:
    """JJ/MM/AAAA, the day in Paris."""
    return paris_date(moment)


_SUBJECTS = {
    EmailKind.PASSWORD_CREATION: "Vous pouvez créer votre mot de passe",
    EmailKind.NEW_NET_ENTREPRISES_USER: (
        "Un nouveau compte utilisateur a été créé pour votre établissement"
    ),
    EmailKind.ACCESS_OPEN: "Vous pouvez maintenant accéder à la plateforme",
    EmailKind.PASSWORD_RESET: "Renouvellement de votre mot de passe",
    EmailKind.REGISTRATION_WITHDRAWN: "L'inscription de votre établissement a été annulée",
}


def _expiry(n: EmailNotification) -> list[str]:
    if n.link is None:
        return []
    return [f"Ce lien est valable jusqu'au {paris_date_time(n.link.expires_at)}."]


def _body(n: EmailNotification, link_url: str | None) -> list[str]:
    establishment = f"{n.designation} (SIRET {n.siret})"
    if n.kind is EmailKind.PASSWORD_CREATION:
        days = n.fact("validity_days") or "15"
        by = n.fact("created_by")
        administrator = agreed(is_feminine(None, by), "administrateur", "administratrice")
        lines = [
            f"{by}, {administrator} de l'établissement {establishment}, vous a créé un compte "
            "sur la Plateforme Employeurs Publics Pep's."
            if by
            else (
                f"Vous avez inscrit l'établissement {establishment} à la Plateforme "
                "Employeurs Publics Pep's et nous vous en remercions."
            ),
            f"Votre identifiant de connexion : {n.identifier}",
            "",
            f"Créer mon mot de passe : {link_url}",
            "",
            f"Attention : pour des raisons de sécurité, vous avez {days} jours pour le créer. "
            + (
                "Passé ce délai, vous devrez demander à un administrateur de votre "
                "établissement de vous créer un nouveau compte."
                if by
                else "Passé ce délai, vous devrez procéder à une nouvelle inscription."
            ),
            *_expiry(n),
        ]
        if not by:
            informed = agreed(n.feminine, "informé", "informée")
            lines += [
                "",
                "Le représentant légal de l'établissement est informé de cette inscription par "
                "courrier.",
            ]
            if n.fact("withdrawal_url"):
                lines.append(
                    "Si vous souhaitez annuler cette inscription avant l'ouverture de vos "
                    f"accès, utilisez ce lien : {n.fact('withdrawal_url')}"
                )
            lines += [
                "",
                f"Vous serez {informed} par courriel dès que vous pourrez accéder à l'ensemble "
                "des services de la plateforme.",
            ]
        return lines
    if n.kind is EmailKind.NEW_NET_ENTREPRISES_USER:
        administrator = agreed(n.feminine, "administrateur", "administratrice")
        return [
            f"{n.fact('new_user')} a créé un compte utilisateur (identifiant "
            f"{n.fact('new_user_identifier')}) pour l'établissement {establishment} avec ses "
            "identifiants Net-Entreprises.",
            f"Ce compte a le profil « {Profile.USER.label} » et les habilitations par défaut. "
            f"En tant qu'{administrator}, vous pouvez modifier ses droits d'accès ou infirmer "
            "son compte depuis « Mes intervenants ».",
        ]
    if n.kind is EmailKind.ACCESS_OPEN:
        registered = n.fact("registered_on")
        lines = [
            (
                f"Vous avez inscrit depuis le {registered} l'établissement {establishment} à la "
                "Plateforme Employeurs Publics Pep's et nous vous en remercions."
            )
            if registered
            else (
                f"Vous avez inscrit l'établissement {establishment} à la Plateforme Employeurs "
                "Publics Pep's et nous vous en remercions."
            ),
            "Nous vous informons que vous pouvez accéder dès maintenant à l'ensemble des "
            "services de la Plateforme Employeurs Publics Pep's.",
        ]
        if n.fact("login_url"):
            lines.append(f"Se connecter : {n.fact('login_url')}")
        return lines
    if n.kind is EmailKind.PASSWORD_RESET:
        return [
            f"Vous avez demandé à renouveler le mot de passe du compte {n.identifier}.",
            f"Renouveler mon mot de passe : {link_url}",
            "Vous avez 3 jours pour le faire, passé ce délai vous devez relancer la procédure.",
            *_expiry(n),
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce courriel.",
        ]
    who = withdrawal_sentence(n.fact("withdrawn_by"))
    return [
        f"L'inscription de l'établissement {establishment} à la Plateforme Employeurs Publics "
        "Pep's a été annulée." + (f" {who}" if who else ""),
        "Votre compte en attente a été supprimé. Une nouvelle inscription reste possible.",
    ]


@frozen(kw_only=True)
class PlainTextEmailRenderer:
    """The :class:`~peps_onboarding.ports.EmailRenderer` of the core: text only.

    ``privacy_url`` is where the footer's « Découvrez comment nous traitons vos
    données » leads: the seed gives no address, so a host names its page; without one
    the line names the platform.
    """

    privacy_url: str | None = None

    def render(
        self, notification: EmailNotification, *, message_id: str, link_url: str | None
    ) -> EmailMessage:
        if notification.kind.carries_link and link_url is None:
            raise ValueError(f"a {notification.kind.value} e-mail needs its link")
        text = "\n".join(
            [
                f"Bonjour {notification.recipient},",
                "",
                *_body(notification, link_url),
                "",
                CLOSING,
                "",
                SIGNATURE,
                "",
                AUTOMATON_FOOTER,
                PRIVACY_NOTICE,
                privacy_line(self.privacy_url),
            ]
        )
        return EmailMessage(
            message_id=message_id,
            to=notification.to,
            subject=_SUBJECTS[notification.kind],
            text=text + "\n",
            kind=notification.kind,
            link_url=link_url,
        )
