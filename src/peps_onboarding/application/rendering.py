"""French texts of the e-mails (M1) and of the letter body (M2), in plain text.

This renderer needs nothing beyond the standard library; the Jinja2 renderer in
:mod:`peps_onboarding.adapters.jinja_emails` adds the HTML part for production.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..domain.notifications import (
    EmailKind,
    EmailMessage,
    EmailNotification,
)

__all__ = ["AUTOMATON_FOOTER", "PARIS", "PlainTextEmailRenderer", "local_date"]

AUTOMATON_FOOTER = (
    "***** IMPORTANT *****\nCet email vous a été envoyé par un automate. Merci de ne pas répondre."
)
SIGNATURE = (
    "L'assistance technique de la Plateforme Employeurs Publics Pep's\n"
    "Direction des Retraites et de la Solidarité - Caisse des Dépôts"
)
PARIS = ZoneInfo("Europe/Paris")


def local_date(moment: datetime) -> str:
    return f"{moment.astimezone(PARIS):%d/%m/%Y}"


_SUBJECTS = {
    EmailKind.PASSWORD_CREATION: "Vous pouvez créer votre mot de passe",
    EmailKind.NEW_NET_ENTREPRISES_USER: (
        "Un nouveau compte utilisateur a été créé pour votre établissement"
    ),
    EmailKind.ACCESS_OPEN: "Vous pouvez maintenant accéder à la plateforme",
    EmailKind.PASSWORD_RESET: "Renouvellement de votre mot de passe",
    EmailKind.REGISTRATION_WITHDRAWN: "L'inscription de votre établissement a été annulée",
}


def _body(n: EmailNotification, link_url: str | None) -> list[str]:
    establishment = f"{n.designation} (SIRET {n.siret})"
    if n.kind is EmailKind.PASSWORD_CREATION:
        days = n.fact("validity_days") or "15"
        by = n.fact("created_by")
        lines = [
            f"{by}, administrateur de l'établissement {establishment}, vous a créé un compte "
            "sur la Plateforme Employeurs Publics Pep's."
            if by
            else f"Un compte PEP's a été créé pour vous pour l'établissement {establishment}.",
            f"Votre identifiant de connexion : {n.identifier}",
            "",
            f"Créer mon mot de passe : {link_url}",
            "",
            f"Attention Pour des raisons de sécurité, vous avez {days} jours pour le créer. "
            + (
                "Passé ce délai, vous devrez demander à un administrateur de votre "
                "établissement de vous créer un nouveau compte."
                if by
                else "Passé ce délai, vous devrez procéder à une nouvelle inscription."
            ),
        ]
        if n.fact("withdrawal_url"):
            lines += [
                "",
                "Le représentant légal de l'établissement est informé de cette inscription par "
                "courrier. Si vous souhaitez annuler cette inscription avant l'ouverture de vos "
                f"accès, utilisez ce lien : {n.fact('withdrawal_url')}",
            ]
        return lines
    if n.kind is EmailKind.NEW_NET_ENTREPRISES_USER:
        return [
            f"{n.fact('new_user')} a créé un compte utilisateur (identifiant "
            f"{n.fact('new_user_identifier')}) pour l'établissement {establishment} avec ses "
            "identifiants Net-Entreprises.",
            "En tant qu'administrateur, vous pouvez modifier ses droits d'accès ou infirmer son "
            "compte depuis « Mes intervenants ».",
        ]
    if n.kind is EmailKind.ACCESS_OPEN:
        lines = [
            f"Vous avez inscrit depuis le {n.fact('registered_on')} l'établissement "
            f"{establishment} à la Plateforme Employeurs Publics Pep's et nous vous en "
            "remercions.",
            "Nous vous informons que vous pouvez accéder dès maintenant à l'ensemble des "
            "services de la Plateforme Employeurs Publics Pep's.",
        ]
        if n.fact("login_url"):
            lines.append(f"Se connecter : {n.fact('login_url')}")
        lines.append("A bientôt sur la Plateforme Employeurs Publics Pep's.")
        return lines
    if n.kind is EmailKind.PASSWORD_RESET:
        return [
            f"Vous avez demandé à renouveler le mot de passe du compte {n.identifier}.",
            f"Renouveler mon mot de passe : {link_url}",
            "Vous avez 3 jours pour le faire, passé ce délai vous devez relancer la procédure.",
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce courriel.",
        ]
    return [
        f"L'inscription de l'établissement {establishment} à la Plateforme Employeurs Publics "
        f"Pep's a été annulée ({n.fact('withdrawn_by')}).",
        "Votre compte en attente a été supprimé. Une nouvelle inscription reste possible.",
    ]


class PlainTextEmailRenderer:
    """The :class:`~peps_onboarding.ports.EmailRenderer` of the core: text only."""

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
                SIGNATURE,
                "",
                AUTOMATON_FOOTER,
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
