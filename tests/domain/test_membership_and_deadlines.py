"""Rules E5 and C6, C8, A7, T1 decided purely: the last administrator, and what time does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve

from peps_onboarding import AccountState, Identifier, LastAdministratorError, Policy, Siret
from peps_onboarding.domain.account import Account, Profile
from peps_onboarding.domain.deadlines import access_opening_due, deadline_changes
from peps_onboarding.domain.establishment import Enrolment, EnrolmentState
from peps_onboarding.domain.membership import Membership, changes_membership

AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
POLICY = Policy()
SIRET = Siret.parse("21330063500017")


def member(user: Account, number: int, *, profile: Profile, state: AccountState) -> Account:
    return evolve(
        user,
        identifier=Identifier.build("PMA", number),
        profile=profile,
        state=state,
        password_hash=None if state is AccountState.PENDING_ACTIVATION else "h",
    )


def enrolled() -> Enrolment:
    return Enrolment(siret=SIRET, state=EnrolmentState.ENROLLED, version=3)


@pytest.mark.rule("E5")
def test_the_last_counted_administrator_can_be_neither_demoted_nor_invalidated(
    user: Account,
) -> None:
    """E5: a pending administrator does not count (C6 may delete it); a blocked one does."""
    admin = member(user, 1, profile=Profile.ADMINISTRATOR, state=AccountState.ACTIVE)
    pending = member(user, 2, profile=Profile.ADMINISTRATOR, state=AccountState.PENDING_ACTIVATION)
    members = Membership(enrolment=enrolled(), accounts=(admin, pending))
    for after in (
        admin.change_profile(profile=Profile.USER, at=AT, actor="x").state,
        admin.invalidate(at=AT, actor="x").state,
    ):
        with pytest.raises(LastAdministratorError):
            members.check_keeps_an_administrator(admin, after)
    blocked = member(user, 3, profile=Profile.ADMINISTRATOR, state=AccountState.BLOCKED)
    with_blocked = Membership(enrolment=enrolled(), accounts=(admin, pending, blocked))
    with_blocked.check_keeps_an_administrator(admin, admin.invalidate(at=AT, actor="x").state)
    assert with_blocked.administrator_names == ("Paul Martin",) * 3


@pytest.mark.rule("E5")
def test_a_new_member_or_a_new_profile_or_state_changes_the_membership(user: Account) -> None:
    """E5: what bumps the membership's version; a new activation deadline does not."""
    assert changes_membership(None, user)
    assert changes_membership(user, user.invalidate(at=AT, actor="x").state)
    promoted = user.change_profile(profile=Profile.ADMINISTRATOR, at=AT, actor="x").state
    assert changes_membership(user, promoted)
    assert not changes_membership(user, user.restart_activation(until=AT).state)


@pytest.mark.rule("C6", "A7", "T1")
def test_time_deletes_a_pending_applicant_and_lapses_its_registration_or_expires_an_account(
    user: Account,
) -> None:
    """C6: past the creation link, the pending account is deleted and its registration
    lapses; A7: past the expiration date, an active account expires; before, nothing."""
    applicant = user
    pending = (
        Enrolment(siret=applicant.siret)
        .submit_classic(applicant=applicant.identifier, at=AT, policy=POLICY)
        .state
    )
    assert not deadline_changes(applicant, pending, AT).any
    end = AT + POLICY.creation_link_validity
    changes = deadline_changes(applicant, pending, end)
    assert changes.account is not None and changes.account.state.state is AccountState.DELETED
    assert changes.enrolment is not None
    assert changes.enrolment.state.state is EnrolmentState.NOT_ENROLLED
    active = evolve(applicant, state=AccountState.ACTIVE, password_hash="h")
    assert active.expires_at is not None
    expired = deadline_changes(active, None, active.expires_at)
    assert expired.account is not None and expired.account.state.state is AccountState.EXPIRED
    assert expired.enrolment is None


@pytest.mark.rule("C8")
def test_access_opens_on_day_j_only_for_the_applicant_with_a_password(user: Account) -> None:
    """C8: day J reached, password created, not withdrawn."""
    applicant = evolve(user, state=AccountState.ACTIVE, password_hash="h")
    pending = (
        Enrolment(siret=applicant.siret)
        .submit_classic(applicant=applicant.identifier, at=AT, policy=POLICY)
        .state
    )
    day_j = POLICY.access_opening(AT)
    assert not access_opening_due(pending, applicant, day_j - timedelta(seconds=1))
    assert access_opening_due(pending, applicant, day_j)
    assert not access_opening_due(pending, evolve(applicant, password_hash=None), day_j)
    assert not access_opening_due(pending, None, day_j)
    assert not access_opening_due(
        pending, applicant.delete(at=AT, actor="x", reason="r").state, day_j
    )
