"""Rule A2: the account states and the only transitions between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from peps_onboarding import (
    AccessLevel,
    Account,
    AccountState,
    Holder,
    Identifier,
    Policy,
    Profile,
    Siret,
    TransitionNotAllowedError,
)
from peps_onboarding.domain.values import (
    Civility,
    EmailAddress,
    FixedPhone,
    PersonName,
    PostalAddress,
    PostalCode,
    TextLine,
)

AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
POLICY = Policy()


def holder() -> Holder:
    return Holder(
        civility=Civility.MRS,
        last_name=PersonName.parse("Dupont"),
        first_name=PersonName.parse("Jeanne"),
        email=EmailAddress.parse("jeanne@mairie.fr"),
        phone=FixedPhone.parse("0556114123"),
        service_function=TextLine.parse("RH"),
        address=PostalAddress(
            street=TextLine.parse("1 rue A"),
            postal_code=PostalCode.parse("33000"),
            city=TextLine.parse("Bordeaux"),
        ),
    )


def account(*, net_entreprises: bool = False) -> Account:
    return Account.create(
        identifier=Identifier.parse("JDU000001"),
        siret=Siret.parse("21330063500017"),
        profile=Profile.ADMINISTRATOR,
        holder=holder(),
        at=AT,
        policy=POLICY,
        actor="JDU000001",
        net_entreprises=net_entreprises,
    ).state


def in_state(state: AccountState) -> Account:
    """An account brought to ``state`` through legal transitions only."""
    acc = account()
    if state is AccountState.PENDING_ACTIVATION:
        return acc
    if state is AccountState.DELETED:
        return acc.delete(at=AT, actor="system", reason="test").state
    if state is AccountState.INVALIDATED:
        return acc.invalidate(at=AT, actor="ADM000001").state
    acc = acc.activate(password_hash="h", at=AT).state
    if state is AccountState.BLOCKED:
        for _ in range(POLICY.max_failed_logins):
            acc = acc.record_failed_login(at=AT, policy=POLICY).state
    if state is AccountState.EXPIRED:
        assert acc.expires_at is not None
        acc = acc.expire(at=acc.expires_at).state
    assert acc.state is state
    return acc


# The spec's table (A2), restated: action -> states it may start from -> resulting state.
LEGAL = {
    "activate": ({AccountState.PENDING_ACTIVATION}, AccountState.ACTIVE),
    "block": ({AccountState.ACTIVE}, AccountState.BLOCKED),
    "expire": ({AccountState.ACTIVE}, AccountState.EXPIRED),
    "renew": ({AccountState.EXPIRED}, AccountState.ACTIVE),
    "unblock": ({AccountState.BLOCKED}, AccountState.ACTIVE),
}
OPEN_STATES = [s for s in AccountState if not s.is_closed]


def apply(acc: Account, action: str) -> Account:
    if action == "activate":
        return acc.activate(password_hash="h", at=AT).state
    if action == "block":
        for _ in range(POLICY.max_failed_logins):
            acc = acc.record_failed_login(at=AT, policy=POLICY).state
        return acc
    if action == "expire":
        return acc.expire(at=AT + timedelta(days=10_000)).state
    if action == "renew":
        return acc.renew(at=AT, actor="ADM000001", policy=POLICY).state
    return acc.unblock(at=AT, actor="ADM000001").state


@pytest.mark.rule("A2")
@pytest.mark.parametrize("action", sorted(LEGAL))
@pytest.mark.parametrize("state", list(AccountState))
def test_each_transition_happens_only_from_the_states_the_spec_allows(
    state: AccountState, action: str
) -> None:
    """A2: every (state, action) pair either follows the table or raises."""
    origins, target = LEGAL[action]
    acc = in_state(state)
    if state in origins:
        assert apply(acc, action).state is target
    else:
        with pytest.raises(TransitionNotAllowedError):
            apply(acc, action)


@pytest.mark.rule("A2")
@pytest.mark.parametrize("state", list(AccountState))
def test_any_open_state_can_be_deleted_or_invalidated_and_closed_states_are_final(
    state: AccountState,
) -> None:
    """A2: any state → deleted or invalidated; nothing leaves those two."""
    acc = in_state(state)
    if state.is_closed:
        with pytest.raises(TransitionNotAllowedError):
            acc.delete(at=AT, actor="system", reason="again")
        with pytest.raises(TransitionNotAllowedError):
            acc.invalidate(at=AT, actor="ADM000001")
        with pytest.raises(TransitionNotAllowedError):
            acc.set_right(service="fmis_refunds", level=AccessLevel.MODIFY, at=AT, actor="X")
    else:
        assert acc.delete(at=AT, actor="system", reason="x").state.state is AccountState.DELETED
        invalidated = acc.invalidate(at=AT, actor="ADM000001").state
        assert invalidated.state is AccountState.INVALIDATED
        assert invalidated.password_hash is None


@pytest.mark.rule("A2", "A5")
@pytest.mark.parametrize("state", list(AccountState))
def test_a_password_reset_unblocks_and_otherwise_keeps_the_state(state: AccountState) -> None:
    """A2/A5: « Bloqué » → « Actif »; active and expired keep their state; others refuse."""
    acc = in_state(state)
    kept = {AccountState.ACTIVE: AccountState.ACTIVE, AccountState.EXPIRED: AccountState.EXPIRED}
    if state is AccountState.BLOCKED:
        reset = acc.reset_password(password_hash="h2", at=AT)
        assert reset.state.state is AccountState.ACTIVE
        assert [e.kind for e in reset.events] == ["password_reset", "account_unblocked"]
    elif state in kept:
        assert acc.reset_password(password_hash="h2", at=AT).state.state is kept[state]
    else:
        with pytest.raises(TransitionNotAllowedError):
            acc.reset_password(password_hash="h2", at=AT)


@pytest.mark.rule("A2", "A4")
def test_failures_below_the_limit_keep_the_account_active_and_a_login_resets_them() -> None:
    """A4: two failures leave it active; a success resets the count."""
    acc = in_state(AccountState.ACTIVE)
    for _ in range(POLICY.max_failed_logins - 1):
        acc = acc.record_failed_login(at=AT, policy=POLICY).state
    assert acc.state is AccountState.ACTIVE
    assert acc.failed_logins == POLICY.max_failed_logins - 1
    acc = acc.record_login(at=AT, policy=POLICY).state
    assert acc.failed_logins == 0
    third = acc.record_failed_login(at=AT, policy=POLICY)
    assert third.state.state is AccountState.ACTIVE


@pytest.mark.rule("A2", "A7")
def test_expiry_before_the_date_is_refused_and_renewal_restarts_eighteen_months() -> None:
    """A7: not expired a second early; renewal sets expiry 18 months after it."""
    acc = in_state(AccountState.ACTIVE)
    assert acc.expires_at is not None
    with pytest.raises(TransitionNotAllowedError):
        acc.expire(at=acc.expires_at - timedelta(seconds=1))
    expired = acc.expire(at=acc.expires_at).state
    renewed_at = datetime(2026, 1, 31, 12, tzinfo=UTC)
    renewed = expired.renew(at=renewed_at, actor="ADM000001", policy=POLICY).state
    assert renewed.expires_at == datetime(2027, 7, 31, 12, tzinfo=UTC)


@pytest.mark.rule("A2", "N6")
def test_net_entreprises_accounts_are_active_at_once_and_have_no_password_flows() -> None:
    """N6: an N-E account starts « Actif » and cannot take a platform password."""
    acc = account(net_entreprises=True)
    assert acc.state is AccountState.ACTIVE
    with pytest.raises(TransitionNotAllowedError):
        acc.reset_password(password_hash="h", at=AT)


@pytest.mark.rule("A2")
def test_state_labels_are_the_french_ones_of_the_members_list() -> None:
    """A2: the labels the screens show."""
    assert AccountState.PENDING_ACTIVATION.label == "En attente d'activation"
    assert AccountState.ACTIVE.label == "Actif"
    assert AccountState.BLOCKED.label == "Bloqué"
    assert AccountState.EXPIRED.label == "Expiré"


@pytest.mark.rule("A3", "A5")
def test_reset_on_an_expired_account_changes_the_password_but_not_the_state() -> None:
    """A7 over A5: only an administrator renews an expired account."""
    acc = in_state(AccountState.EXPIRED)
    reset = acc.reset_password(password_hash="new", at=AT).state
    assert reset.state is AccountState.EXPIRED
    assert reset.password_hash == "new"


@pytest.mark.rule("R3", "R4")
def test_rights_default_to_none_and_hold_one_level_per_service() -> None:
    """R3/R4: default rights are « Aucun »; setting a level replaces the previous one."""
    acc = in_state(AccountState.ACTIVE)
    assert {r.level for r in acc.rights} == {AccessLevel.NONE}
    acc = acc.set_right(service="fmis_refunds", level=AccessLevel.READ_ONLY, at=AT, actor="X").state
    acc = acc.set_right(service="fmis_refunds", level=AccessLevel.MODIFY, at=AT, actor="X").state
    assert acc.level("fmis_refunds") is AccessLevel.MODIFY
    assert len([r for r in acc.rights if r.service == "fmis_refunds"]) == 1
    unchanged = acc.set_right(service="fmis_refunds", level=AccessLevel.MODIFY, at=AT, actor="X")
    assert unchanged.events == ()
    assert AccessLevel.READ_ONLY.label == "Lecture seule"
