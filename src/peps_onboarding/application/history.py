"""The history of an establishment as a person reads it (rule L1): each event in one
French line, its actor named in French, its moment in Paris time.

Events keep stable English codes (``kind``, ``purpose``, ``reason``) because stores and
host code read them; nobody should ever see one. Every code has its wording here, and a
test walks every event class so that a new one cannot reach a screen unworded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..domain.account import AccountState, Profile
from ..domain.events import (
    AccountCreated,
    AccountDeleted,
    AccountRenewed,
    Actor,
    AssistanceGiven,
    DomainEvent,
    LinkIssued,
    LoginFailed,
    ProfileChanged,
    RightChanged,
)
from ..domain.links import LinkPurpose
from ..domain.rights import AccessLevel, Service
from .rendering import PARIS

__all__ = ["EVENT_LABELS", "actor_label", "describe", "moment"]

EVENT_LABELS: Final[dict[str, str]] = {
    "registration_submitted": "Inscription demandée",
    "registration_withdrawn": "Inscription annulée",
    "registration_lapsed": "Inscription caduque (mot de passe non créé dans les 15 jours)",
    "access_opened": "Accès ouvert",
    "establishment_enrolled": "Établissement inscrit par Net-Entreprises",
    "account_created": "Compte créé",
    "account_activated": "Mot de passe créé, compte actif",
    "login_succeeded": "Connexion",
    "login_failed": "Échec de connexion",
    "account_blocked": "Compte bloqué",
    "account_unblocked": "Compte débloqué",
    "password_reset": "Mot de passe renouvelé",
    "account_expired": "Compte expiré",
    "account_renewed": "Compte renouvelé",
    "account_deleted": "Compte supprimé",
    "account_invalidated": "Compte infirmé",
    "right_changed": "Droit d'accès modifié",
    "profile_changed": "Profil modifié",
    "link_issued": "Lien envoyé",  # worded by purpose below
    "assistance_given": "Intervention de l'assistance",
}

_LINKS: Final = {
    LinkPurpose.PASSWORD_CREATION.value: "Lien de création du mot de passe envoyé",
    LinkPurpose.PASSWORD_RESET.value: "Lien de renouvellement du mot de passe envoyé",
    LinkPurpose.WITHDRAWAL_BY_APPLICANT.value: (
        "Lien d'annulation de l'inscription envoyé au demandeur"
    ),
    LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE.value: (
        "Code de désinscription envoyé par courrier au représentant légal"
    ),
    LinkPurpose.NET_ENTREPRISES_TICKET.value: "Identification Net-Entreprises utilisée",
}

_DELETIONS: Final = {
    "creation_link_expired": "mot de passe non créé dans les 15 jours",
    "registration_withdrawn": "inscription annulée",
}

_ASSISTANCE: Final = {
    AssistanceGiven.RENEW: "renouvellement du compte",
    AssistanceGiven.UNBLOCK: "déblocage du compte",
    AssistanceGiven.RESEND_CREATION_LINK: "nouveau lien de création du mot de passe",
}

_ROLES: Final = {
    Actor.SYSTEM: "la plateforme",
    Actor.LEGAL_REPRESENTATIVE: "le représentant légal",
    Actor.ANONYMOUS: "une personne non identifiée",
}


def actor_label(actor: str) -> str:
    """Who acted, in French: an identifier as is, a role or an operator in words."""
    operator = Actor.operator_of(actor)
    if operator is not None:
        return f"l'assistance ({operator})"
    return _ROLES.get(actor, actor)


def moment(event: DomainEvent) -> str:
    """When, in Paris time, as the seeds write dates."""
    return f"{event.at.astimezone(PARIS):%d/%m/%Y à %H:%M}"


def _profile(code: str) -> str:
    return Profile(code).label


def _details(event: DomainEvent, services: dict[str, str]) -> str:
    match event:
        case AccountCreated():
            state = AccountState(event.state).label
            via = ", via Net-Entreprises" if event.net_entreprises else ""
            return f"profil {_profile(event.profile)}, « {state} »{via}"
        case LinkIssued():
            return f"valable jusqu'au {event.expires_at.astimezone(PARIS):%d/%m/%Y à %H:%M}"
        case LoginFailed():
            count = event.consecutive_failures
            return f"{count} échec{'s' if count > 1 else ''} consécutif{'s' if count > 1 else ''}"
        case AccountRenewed():
            return f"expiration le {event.expires_at.astimezone(PARIS):%d/%m/%Y}"
        case AccountDeleted():
            return _DELETIONS.get(event.reason, event.reason)
        case RightChanged():
            service = services.get(event.service, event.service)
            return f"« {service} » : {AccessLevel(event.level).label}"
        case ProfileChanged():
            return f"désormais {_profile(event.profile)}"
        case AssistanceGiven():
            return f"{_ASSISTANCE.get(event.action, event.action)} ; motif : {event.reason}"
    return ""


def describe(event: DomainEvent, services: Iterable[Service] = ()) -> str:
    """One line: moment, what happened and its details, the account, who acted."""
    names = {service.code: service.label for service in services}
    what = EVENT_LABELS[event.kind]
    if isinstance(event, LinkIssued):
        what = _LINKS[event.purpose]
    details = _details(event, names)
    line = f"{moment(event)} — {what}" + (f" ({details})" if details else "")
    if event.account:
        line += f" — compte {event.account}"
    return f"{line} — par {actor_label(event.actor)}"
