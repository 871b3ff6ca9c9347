"""What an administrator does for the accounts of their establishment (rules R1–R7, E5).

Every action reads the establishment's membership under its version and commits with a
bump of it (:mod:`peps_onboarding.domain.membership`): two administrators demoting or
invalidating each other at once cannot both pass the "last administrator" check.

The actor must be an active administrator (:func:`.members.administrator`); one whose
own account is blocked or expired is told that state, not that rights are lacking
(A4, R8). The support's way out of that dead end is :mod:`.assistance` (R9).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.account import Account, Profile
from ..domain.errors import (
    AccountNotFoundError,
    FieldError,
    PermissionDeniedError,
    ValidationError,
)
from ..domain.events import DomainEvent
from ..domain.membership import Membership
from ..domain.rights import AccessLevel
from ..domain.transition import Transition
from ..domain.values import Identifier, Siret
from ..ports import UnitOfWork
from .commands import HolderForm
from .dependencies import Dependencies, retrying
from .forms import FormParser, parse_holder
from .members import administrator, member_rows, membership, new_identifier, save_member
from .notices import revoke_links, send_creation_link
from .results import SINGLE_ADMINISTRATOR_WARNING, MembersList, UserCreated

__all__ = [
    "Change",
    "administer",
    "create_user",
    "demote",
    "history",
    "invalidate",
    "list_members",
    "promote",
    "renew",
    "set_right",
    "stage_member_change",
    "unblock",
]

Change = Callable[[Account, Account, datetime], Transition[Account]]


def create_user(deps: Dependencies, actor: str, holder_form: HolderForm) -> UserCreated:
    """Rule R5: an administrator creates a user account (15-day creation link)."""
    form = FormParser()
    holder = parse_holder(
        form,
        holder_form,
        test_emails=deps.accept_test_email_domains,
        smtputf8=deps.policy.smtputf8_relay,
    )
    form.done()
    assert holder is not None

    def run() -> UserCreated:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            admin = administrator(deps, uow, actor, now)
            identifier = new_identifier(uow, holder)
            created = Account.create(
                identifier=identifier,
                siret=admin.siret,
                profile=Profile.USER,
                holder=holder,
                at=now,
                policy=deps.policy,
                actor=admin.identifier.value,
            )
            account = save_member(uow, None, created)
            send_creation_link(
                deps,
                uow,
                account,
                deps.registry.establishment(admin.siret),
                now,
                None,
                created_by=admin.holder.formal_name,
            )
            uow.commit()
        return UserCreated(identifier=identifier.value)

    return retrying(run)


def administer(
    deps: Dependencies,
    actor: str,
    target: str,
    change: Change,
    *,
    frees_password_checks: bool = False,
) -> None:
    """Rules R5, R6, E5: one administrator action on one account of their establishment."""
    try:
        target_id = Identifier.parse(target)
    except ValueError:
        raise AccountNotFoundError() from None

    def run() -> None:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            admin = administrator(deps, uow, actor, now)
            members = membership(uow, admin.siret)
            assert members is not None  # an administrator's establishment is enrolled
            account = next((a for a in members.accounts if a.identifier == target_id), None)
            if account is None:
                if uow.accounts.get(target_id) is None:
                    raise AccountNotFoundError()
                raise PermissionDeniedError()
            changed = change(account, admin, now)
            if stage_member_change(
                uow, members, account, changed, now, frees_password_checks=frees_password_checks
            ):
                uow.commit()

    retrying(run)


def stage_member_change(
    uow: UnitOfWork,
    members: Membership,
    account: Account,
    changed: Transition[Account],
    now: datetime,
    *,
    frees_password_checks: bool = False,
) -> bool:
    """Rules E5, A8, A4: one member's change, staged under the membership's version (an
    administrator's action, or the support's, R9). Never the last administrator; a closed
    account's links are revoked; a renewed or unblocked account's password-check slots
    are freed, so its holder's next login is checked at once. False when nothing changed:
    there is nothing to commit."""
    members.check_keeps_an_administrator(account, changed.state)
    if changed.state is account:
        return False
    after = save_member(uow, account, changed)
    if after.state.is_closed:
        revoke_links(uow, account.identifier, now)
    if frees_password_checks:
        uow.accounts.release_password_checks(account.identifier)
    return True


def set_right(
    deps: Dependencies, actor: str, target: str, service: str, level: AccessLevel
) -> None:
    """Rules R3, R5: grant, change or revoke (``AccessLevel.NONE``) a right."""
    if deps.policy.service(service) is None:
        raise ValidationError(
            {"service": FieldError("service.unknown", "Ce service n'existe pas.")}
        )
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.set_right(
            service=service, level=level, at=now, actor=admin.identifier.value
        ),
    )


def invalidate(deps: Dependencies, actor: str, target: str) -> None:
    """Rules R5, A2, E5: « infirmer » an account (never the last administrator)."""
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.invalidate(at=now, actor=admin.identifier.value),
    )


def renew(deps: Dependencies, actor: str, target: str) -> None:
    """Rules R5, A7: renew an expired account; the 18 months restart."""
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.renew(
            at=now, actor=admin.identifier.value, policy=deps.policy
        ),
        frees_password_checks=True,
    )


def unblock(deps: Dependencies, actor: str, target: str) -> None:
    """Rule R5: unblock a blocked account."""
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.unblock(at=now, actor=admin.identifier.value),
        frees_password_checks=True,
    )


def promote(deps: Dependencies, actor: str, target: str) -> None:
    """Rule R5: a user becomes administrator."""
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.change_profile(
            profile=Profile.ADMINISTRATOR, at=now, actor=admin.identifier.value
        ),
    )


def demote(deps: Dependencies, actor: str, target: str) -> None:
    """Rules R5, E5: an administrator becomes user (never the last one)."""
    administer(
        deps,
        actor,
        target,
        lambda account, admin, now: account.change_profile(
            profile=Profile.USER, at=now, actor=admin.identifier.value
        ),
    )


def list_members(deps: Dependencies, actor: str) -> MembersList:
    """Rule R5: the members an administrator manages, with a warning while there is one
    administrator. Every member's read of the same list is R8's
    :func:`.establishment_members.establishment_members`."""
    with deps.unit_of_work() as uow:
        admin = administrator(deps, uow, actor, deps.clock.now())
        accounts = tuple(
            a for a in uow.accounts.of_establishment(admin.siret) if not a.state.is_closed
        )
    establishment = deps.registry.establishment(admin.siret)
    admins = sum(1 for a in accounts if a.is_administrator)
    return MembersList(
        siret=admin.siret.value,
        designation=establishment.designation if establishment else "",
        members=member_rows(deps, accounts, with_rights=True),
        warning=SINGLE_ADMINISTRATOR_WARNING if admins < 2 else None,
    )


def history(deps: Dependencies, siret: str) -> tuple[DomainEvent, ...]:
    """Rule L1: every event of the establishment, in order."""
    form = FormParser()
    parsed = form.field("siret", Siret.parse, siret)
    form.done()
    assert parsed is not None
    with deps.unit_of_work() as uow:
        return tuple(uow.events.history(parsed))
