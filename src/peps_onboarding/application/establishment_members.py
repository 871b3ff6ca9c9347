"""« Mon établissement > Mes intervenants » (rule R8): what every active member reads.

The seed sends a user who lacks rights there: « Vous trouverez ses coordonnées en
cliquant sur votre badge utilisateur […] puis sur Mon établissement puis sur Mes
intervenants ». So any active member of an enrolled establishment, user or
administrator, reads its members (R5's columns) and its administrators' professional
contact details. It is a read: R5's actions stay the administrators' (R6), and the
administrators' own management view is :func:`.administration.list_members`.
"""

from __future__ import annotations

from ..domain.account import Account
from ..domain.values import Civility
from .dependencies import Dependencies
from .members import member, member_rows
from .results import SINGLE_ADMINISTRATOR_WARNING, AdministratorContact, EstablishmentMembers

__all__ = ["establishment_members", "rights_message"]

_NBSP = "\u00a0"  # French typography: no line break before « ; »


def establishment_members(deps: Dependencies, actor: str) -> EstablishmentMembers:
    """Rules R8, R6: the actor's own establishment, read by any of its active members.

    A blocked, expired, not yet activated or closed actor is told their state (A4), an
    applicant before day J when access opens (C8), and an identifier that names nobody
    that rights are lacking: nothing of any establishment is shown to them.
    """
    with deps.unit_of_work() as uow:
        viewer = member(deps, uow, actor, deps.clock.now())
        accounts = tuple(
            a for a in uow.accounts.of_establishment(viewer.siret) if not a.state.is_closed
        )
    establishment = deps.registry.establishment(viewer.siret)
    administrators = tuple(a for a in accounts if a.is_administrator)
    is_administrator = viewer.is_administrator
    return EstablishmentMembers(
        siret=viewer.siret.value,
        designation=establishment.designation if establishment else "",
        viewer=viewer.identifier.value,
        viewer_is_administrator=is_administrator,
        members=member_rows(deps, accounts),
        administrators=tuple(_contact(a) for a in administrators),
        message=rights_message(viewer, administrators),
        warning=(
            SINGLE_ADMINISTRATOR_WARNING if is_administrator and len(administrators) < 2 else None
        ),
    )


def _contact(account: Account) -> AdministratorContact:
    holder = account.holder
    return AdministratorContact(
        identifier=account.identifier.value,
        civility=holder.civility.label,
        last_name=holder.last_name.value,
        first_name=holder.first_name.value,
        formal_name=holder.formal_name,
        email=holder.email.value,
        phone=holder.phone.national,
        service=holder.service_function.value,
        status=account.state.label,
    )


def rights_message(viewer: Account, administrators: tuple[Account, ...]) -> str:
    """The seed's lines on rights, agreed with the civilités it knows.

    To a user (N3's « Seul le ou les administrateur(s) de votre établissement est (sont)
    en mesure de vous attribuer ces droits. Vous devez le(s) contacter. »): one
    administrator or several, an « administratrice » when she is « Madame », the feminine
    plural when every one is. To an administrator (the seed's « En tant
    qu'administrateur, vous pouvez vous attribuer ces droits ; vous pouvez aussi créer des
    comptes pour d'autres utilisateurs et leur donner les droits d'accès. »).
    """
    if viewer.is_administrator:
        title = "administratrice" if viewer.holder.civility is Civility.MRS else "administrateur"
        return (
            f"En tant qu'{title}, vous pouvez vous attribuer les droits d'accès aux services"
            f"{_NBSP}; vous pouvez aussi créer des comptes pour d'autres utilisateurs et leur "
            "donner les droits d'accès."
        )
    women = bool(administrators) and all(a.holder.civility is Civility.MRS for a in administrators)
    if len(administrators) == 1:
        who, verb, them = (
            ("Seule l'administratrice", "est", "la")
            if women
            else ("Seul l'administrateur", "est", "le")
        )
    else:
        who = "Seules les administratrices" if women else "Seuls les administrateurs"
        verb, them = "sont", "les"
    return (
        f"{who} de votre établissement {verb} en mesure de vous attribuer les droits d'accès "
        f"aux services, en lecture ou en modification. Vous devez {them} contacter."
    )
