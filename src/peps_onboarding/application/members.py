"""An establishment's members inside one unit of work: reading them under the membership's
version (E5), writing a member so that the version guards the write, and applying what
time has decided (C6, C8, A7, T1). Nothing here commits: the use case does, once."""

from __future__ import annotations

import hmac
from datetime import datetime

from ..domain.account import Account, AccountState, Holder
from ..domain.deadlines import access_opening_due, deadline_changes
from ..domain.errors import (
    AccessNotYetOpenError,
    AccountBlockedError,
    AccountStateForbidsLoginError,
    LinkNoLongerValidError,
    PermissionDeniedError,
)
from ..domain.establishment import Enrolment, EnrolmentState
from ..domain.links import Link, LinkPurpose, hash_token, normalise_code
from ..domain.membership import Membership, changes_membership
from ..domain.transition import Transition
from ..domain.values import Identifier, Siret
from ..ports import UnitOfWork
from .dependencies import Dependencies
from .notices import access_open_email, owe, record, revoke_links
from .results import AccessLevelView, MemberRow

__all__ = [
    "administrator",
    "administrator_names",
    "apply_deadlines",
    "current_enrolment",
    "guard_membership",
    "member",
    "member_rows",
    "membership",
    "new_identifier",
    "open_access",
    "open_access_if_due",
    "save_member",
    "usable_link",
    "withdrawal_link",
]


def guard_membership(uow: UnitOfWork, siret: Siret) -> Enrolment | None:
    """Rule E5: this unit of work's commit bumps the membership's version, and fails if
    another commit bumped it since it was read here."""
    enrolment = uow.enrolments.get(siret)
    if enrolment is not None and enrolment.version:
        uow.enrolments.update(enrolment)
    return enrolment


def membership(uow: UnitOfWork, siret: Siret) -> Membership | None:
    """The members, read after the version that guards them (so a change committed in
    between makes this unit of work's commit fail rather than decide on stale members)."""
    enrolment = guard_membership(uow, siret)
    if enrolment is None:
        return None
    return Membership(enrolment=enrolment, accounts=tuple(uow.accounts.of_establishment(siret)))


def administrator_names(uow: UnitOfWork, siret: Siret) -> tuple[str, ...]:
    """Rule R7 (a read: nothing is guarded or written)."""
    return tuple(
        a.holder.display_name for a in uow.accounts.of_establishment(siret) if a.is_administrator
    )


def save_member(uow: UnitOfWork, before: Account | None, change: Transition[Account]) -> Account:
    """Writes a member and its events; a new member or another profile or state bumps the
    membership's version (E5)."""
    after = change.state
    if before is None:
        uow.accounts.add(after)
    elif after is not before:
        uow.accounts.update(after)
    if changes_membership(before, after):
        guard_membership(uow, after.siret)
    record(uow, change)
    return after


def new_identifier(uow: UnitOfWork, holder: Holder) -> Identifier:
    """Rule A1."""
    prefix = Identifier.prefix_for(holder.first_name.value, holder.last_name.value)
    return Identifier.build(prefix, uow.accounts.next_number(prefix))


def apply_deadlines(uow: UnitOfWork, account: Account, now: datetime) -> Account:
    """Rules C6, A7, T1: what time decided about this account, staged in this unit of work."""
    enrolment = uow.enrolments.get(account.siret)
    changes = deadline_changes(account, enrolment, now)
    if changes.account is None:
        return account
    after = save_member(uow, account, changes.account)
    if after.state.is_closed:
        revoke_links(uow, account.identifier, now)
    if changes.enrolment is not None:
        uow.enrolments.update(changes.enrolment.state)
        record(uow, changes.enrolment)
    return after


def current_enrolment(
    uow: UnitOfWork, siret: Siret, now: datetime
) -> tuple[Enrolment | None, bool]:
    """The enrolment as it stands at ``now``, and whether time changed it: a pending
    registration whose creation link expired unused has lapsed (C6), staged here; the
    use case commits it if it commits."""
    enrolment = uow.enrolments.get(siret)
    if enrolment is None or enrolment.state is not EnrolmentState.PENDING:
        return enrolment, False
    assert enrolment.applicant is not None
    applicant = uow.accounts.get(enrolment.applicant)
    if applicant is None or apply_deadlines(uow, applicant, now) is applicant:
        return enrolment, False
    return uow.enrolments.get(siret), True


def open_access(
    deps: Dependencies, uow: UnitOfWork, enrolment: Enrolment, applicant: Account, now: datetime
) -> Account:
    """Rule C8: day J, password created, not withdrawn → enrolled; the access e-mail."""
    opened = enrolment.open_access(at=now)
    uow.enrolments.update(opened.state)
    record(uow, opened)
    restarted = save_member(uow, applicant, applicant.restart_lifetime(at=now, policy=deps.policy))
    revoke_links(  # the withdrawal window is over; a reset link stays good
        uow,
        applicant.identifier,
        now,
        (LinkPurpose.WITHDRAWAL_BY_APPLICANT, LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE),
    )
    owe(deps, uow, access_open_email(deps, applicant, enrolment), now)
    return restarted


def open_access_if_due(
    deps: Dependencies, uow: UnitOfWork, account: Account, now: datetime
) -> tuple[Enrolment | None, Account]:
    """Rule C8 enforced when used (T1): day J came before the sweep."""
    enrolment = uow.enrolments.get(account.siret)
    if enrolment is not None and access_opening_due(enrolment, account, now):
        account = open_access(deps, uow, enrolment, account, now)
        enrolment = uow.enrolments.get(account.siret)
    return enrolment, account


def administrator(deps: Dependencies, uow: UnitOfWork, actor: str, now: datetime) -> Account:
    """Rule R6: only an active administrator of an enrolled establishment administers.

    An administrator whose own account is blocked or expired is told that state (A4, R8:
    « Votre compte est bloqué… », « L'état de votre compte… »), not that they lack
    rights: they have them, and the message points to the way out. An administrator past
    their expiration date is refused so, and the expiry stands (A7, T1): it is committed
    here, as the refused use case's one and only commit.
    """
    try:
        identifier = Identifier.parse(actor)
    except ValueError:
        raise PermissionDeniedError() from None
    admin = uow.accounts.get(identifier)
    if admin is None or not admin.is_administrator:
        raise PermissionDeniedError()
    now_state = apply_deadlines(uow, admin, now).state
    if now_state is not admin.state:
        uow.commit()
    if now_state is AccountState.BLOCKED:
        raise AccountBlockedError()
    if now_state is AccountState.EXPIRED:
        raise AccountStateForbidsLoginError()
    if now_state is not AccountState.ACTIVE:  # pending activation, or deleted just now
        raise PermissionDeniedError()
    enrolment = uow.enrolments.get(admin.siret)
    if enrolment is None or enrolment.state is not EnrolmentState.ENROLLED:
        raise PermissionDeniedError()
    return admin


def member(deps: Dependencies, uow: UnitOfWork, actor: str, now: datetime) -> Account:
    """Rules R8, R6: an active member (user or administrator) of an enrolled establishment,
    who may read « Mes intervenants »; the establishment read is always the actor's own.

    A member whose account cannot be used is told its state, as at login (A4): blocked
    (« Votre compte est bloqué… », the way out is « Mot de passe oublié »), expired, not
    yet activated or closed (« L'état de votre compte ne permet pas votre connexion. »),
    or waiting for day J (« … à compter du JJ/MM/AAAA », C8). Time is enforced here as
    when the account is used (T1): an expiry or a lapse found now, or an access opening
    that came due before the sweep, stands, committed as this use case's one commit. An
    identifier that names no account gets « Vous n'avez pas les droits nécessaires… »,
    which says nothing about who exists.
    """
    try:
        identifier = Identifier.parse(actor)
    except ValueError:
        raise PermissionDeniedError() from None
    account = uow.accounts.get(identifier)
    if account is None:
        raise PermissionDeniedError()
    current = apply_deadlines(uow, account, now)
    if current.state is AccountState.ACTIVE:
        current = open_access_if_due(deps, uow, current, now)[1]
    if current is not account:
        uow.commit()
    if current.state is AccountState.BLOCKED:
        raise AccountBlockedError()
    if current.state is not AccountState.ACTIVE:  # expired, pending activation, closed
        raise AccountStateForbidsLoginError()
    enrolment = uow.enrolments.get(current.siret)
    if (
        enrolment is not None
        and enrolment.state is EnrolmentState.PENDING
        and enrolment.access_from is not None
    ):
        raise AccessNotYetOpenError(enrolment.access_from.astimezone(deps.policy.zone).date())
    if enrolment is None or enrolment.state is not EnrolmentState.ENROLLED:
        raise PermissionDeniedError()
    return current


def member_rows(
    deps: Dependencies, accounts: tuple[Account, ...], *, with_rights: bool = False
) -> tuple[MemberRow, ...]:
    """Rule R5's columns of « Mes intervenants »: Nom, Prénom, N-E, Identifiant, Service,
    Profil, Statut, Expiration du compte (a date in the policy's time zone), Connexion;
    ``with_rights``: each service's level too (R3), for the administrators' view."""
    zone = deps.policy.zone
    return tuple(
        MemberRow(
            last_name=a.holder.last_name.value,
            first_name=a.holder.first_name.value,
            net_entreprises=a.net_entreprises,
            identifier=a.identifier.value,
            service=a.holder.service_function.value,
            profile=a.profile.label,
            status=a.state.label,
            expires_on=a.expires_at.astimezone(zone).date() if a.expires_at else None,
            last_login_at=a.last_login_at,
            state=a.state.value,
            profile_code=a.profile.value,
            rights=rights_of(deps, a) if with_rights else (),
        )
        for a in accounts
    )


def rights_of(deps: Dependencies, account: Account) -> tuple[AccessLevelView, ...]:
    """Rule R3: the account's level for every service of the catalogue, « Aucun » for
    those it was never given."""
    levels = ((service, account.level(service.code)) for service in deps.policy.services)
    return tuple(
        AccessLevelView(
            service=service.code, label=service.label, level=level.value, level_label=level.label
        )
        for service, level in levels
    )


def found_link(uow: UnitOfWork, token: object, purposes: tuple[LinkPurpose, ...]) -> Link:
    """Rule A8 at use: a hashed lookup, then a constant-time comparison. Whatever is wrong,
    one answer, which names nobody."""
    link = None
    if isinstance(token, str) and 16 <= len(token) <= 128:
        link = uow.links.by_hash(hash_token(token))
    if link is None or link.purpose not in purposes or not link.matches(str(token)):
        raise LinkNoLongerValidError()
    return link


def withdrawal_link(deps: Dependencies, uow: UnitOfWork, code: object) -> Link:
    """Rules C9, P4, A8: the withdrawal link a typed code or a clicked token names.

    What reads as a letter's code (12 symbols once normalised: case, spaces, hyphens and
    look-alikes forgiven) is looked up by its keyed hash under each key, current then
    previous, so a rotation leaves the letters in the post good. Anything else is a link
    token: the applicant's e-mailed link, or a letter printed before codes were short.
    Whatever is wrong, one answer, which names nobody.
    """
    symbols = normalise_code(code)
    if symbols is None:
        purposes = (
            LinkPurpose.WITHDRAWAL_BY_APPLICANT,
            LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE,
        )
        return found_link(uow, code, purposes)
    for digest in deps.secret.code_hashes(symbols):
        link = uow.links.by_hash(digest)
        if (
            link is not None
            and link.purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE
            and hmac.compare_digest(link.token_hash, digest)
        ):
            return link
    raise LinkNoLongerValidError()


def usable_link(
    uow: UnitOfWork, token: object, purposes: tuple[LinkPurpose, ...], now: datetime
) -> tuple[Link, Account]:
    """Rules A8, C6: the link and its account, or « Ce lien n'est plus valide » with the
    establishment's administrators."""
    link = found_link(uow, token, purposes)
    account = uow.accounts.get(link.identifier)
    if not link.usable(now) or account is None or account.state.is_closed:
        raise LinkNoLongerValidError(administrator_names(uow, link.siret))
    return link, account
