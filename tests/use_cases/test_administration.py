"""Administrators' actions and their boundaries (R1–R7, E5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from peps_onboarding import (
    FMIS_ALLOCATIONS,
    FMIS_REFUNDS,
    AccessLevel,
    AccountBlockedError,
    AccountNotFoundError,
    AccountState,
    AccountStateForbidsLoginError,
    Identifier,
    InvalidCredentialsError,
    LastAdministratorError,
    PermissionDeniedError,
    Policy,
    Profile,
    Service,
    Theme,
    TransitionNotAllowedError,
    ValidationError,
)
from peps_onboarding.testing import HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form


@pytest.fixture
def admin(journey: Journey) -> str:
    return journey.enrolled_administrator()


def state_of(journey: Journey, identifier: str) -> AccountState:
    return journey.world.database.accounts[Identifier.parse(identifier)].state


@pytest.mark.rule("R1", "R2")
def test_profiles_and_the_default_services_catalogue() -> None:
    """R1: two profiles; R2: the FMIS services in « Subventions / Aides »."""
    assert [p.label for p in Profile] == ["Administrateur", "Utilisateur"]
    policy = Policy()
    assert [s.label for s in policy.services] == ["Dotations FMIS", "Remboursements FMIS"]
    assert {s.theme.label for s in policy.services} == {"Subventions / Aides"}


@pytest.mark.rule("R2", "R4")
def test_the_host_extends_the_catalogue_and_the_default_rights() -> None:
    """R2: the host adds services; R4: default rights are policy."""
    careers = Service("careers", "Gestion des carrières", Theme("careers", "Carrières"))
    from peps_onboarding import Right

    policy = Policy(
        services=(FMIS_ALLOCATIONS, FMIS_REFUNDS, careers),
        default_rights=(Right("careers", AccessLevel.READ_ONLY),),
    )
    journey = Journey.start(policy=policy)
    admin = journey.enrolled_administrator()
    login = journey.platform.login(admin, PASSWORD)
    assert {(r.label, r.level_label) for r in login.rights} == {
        ("Dotations FMIS", "Aucun"),
        ("Remboursements FMIS", "Aucun"),
        ("Gestion des carrières", "Lecture seule"),
    }
    with pytest.raises(ValueError, match="catalogue"):
        Policy(default_rights=(Right("unknown", AccessLevel.MODIFY),))


@pytest.mark.rule("R5", "R3", "A8")
def test_an_administrator_creates_a_user_who_gets_a_fifteen_day_link(
    journey: Journey, admin: str
) -> None:
    """R5: identifier + password-creation e-mail; the user has no rights until granted."""
    created = journey.platform.create_user(admin, holder_form("Luc", "Moreau"))
    assert created.identifier == "LMO000001"
    assert state_of(journey, created.identifier) is AccountState.PENDING_ACTIVATION
    mail = journey.mails_to("luc.moreau@employeur.example")[-1]
    assert "15 jours" in mail.text
    journey.create_password("luc.moreau@employeur.example")
    login = journey.platform.login(created.identifier, PASSWORD)
    assert login.profile == "user"
    assert {r.level for r in login.rights} == {"none"}


@pytest.mark.rule("R5", "R3")
def test_rights_are_granted_changed_and_revoked_their_own_included(
    journey: Journey, admin: str
) -> None:
    """R5: grant, change, revoke; an administrator may set their own rights."""
    user = journey.active_user(admin)
    platform = journey.platform
    platform.set_right(admin, user, FMIS_REFUNDS.code, AccessLevel.MODIFY)
    platform.set_right(admin, user, FMIS_ALLOCATIONS.code, AccessLevel.READ_ONLY)
    levels = {r.service: r.level_label for r in platform.login(user, PASSWORD).rights}
    assert levels == {"fmis_refunds": "Modification", "fmis_allocations": "Lecture seule"}
    platform.set_right(admin, user, FMIS_REFUNDS.code, AccessLevel.NONE)
    levels = {r.service: r.level_label for r in platform.login(user, PASSWORD).rights}
    assert levels["fmis_refunds"] == "Aucun"
    platform.set_right(admin, admin, FMIS_REFUNDS.code, AccessLevel.MODIFY)
    own = {r.service: r.level for r in platform.login(admin, PASSWORD).rights}
    assert own["fmis_refunds"] == "modify"
    with pytest.raises(ValidationError):
        platform.set_right(admin, user, "careers", AccessLevel.MODIFY)


@pytest.mark.rule("R5", "A2")
def test_invalidate_renew_and_unblock(journey: Journey, admin: str) -> None:
    """R5: infirmer, renouveler, débloquer."""
    user = journey.active_user(admin)
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017, PT011 - blocked on the third
            journey.platform.login(user, "Wrong-pass1")
    assert state_of(journey, user) is AccountState.BLOCKED
    journey.platform.unblock(admin, user)
    journey.platform.login(user, PASSWORD)
    with pytest.raises(TransitionNotAllowedError):
        journey.platform.renew(admin, user)  # not expired
    journey.platform.invalidate(admin, user)
    assert state_of(journey, user) is AccountState.INVALIDATED
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(user, PASSWORD)
    assert user not in [m.identifier for m in journey.platform.list_members(admin).members]


@pytest.mark.rule("E5", "R5")
def test_the_last_administrator_can_be_neither_demoted_nor_invalidated(
    journey: Journey, admin: str
) -> None:
    """E5: at least one administrator, always."""
    with pytest.raises(LastAdministratorError) as error:
        journey.platform.demote(admin, admin)
    assert "au moins un administrateur" in error.value.text
    with pytest.raises(LastAdministratorError):
        journey.platform.invalidate(admin, admin)
    second = journey.active_user(admin, "Cécile", "Noël")
    journey.platform.promote(admin, second)
    journey.platform.demote(second, admin)
    with pytest.raises(PermissionDeniedError):
        journey.platform.demote(admin, second)  # no longer an administrator
    with pytest.raises(LastAdministratorError):
        journey.platform.invalidate(second, second)


@pytest.mark.rule("E5")
def test_an_expired_or_blocked_administrator_still_counts_as_administrator(
    journey: Journey, admin: str
) -> None:
    """E5: only deleted or invalidated administrators stop counting."""
    second = journey.active_user(admin, "Cécile", "Noël")
    journey.platform.promote(admin, second)
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017, PT011
            journey.platform.login(admin, "Wrong-pass1")
    assert state_of(journey, admin) is AccountState.BLOCKED
    journey.platform.demote(second, second)  # the blocked administrator still counts
    admins = [
        a for a in journey.world.database.accounts.values() if a.profile is Profile.ADMINISTRATOR
    ]
    assert [a.identifier.value for a in admins] == [admin]
    journey.platform.request_password_reset(admin)
    journey.platform.reset_password(
        journey.last_token("jeanne.dupont@employeur.example"), "Nouveau-mdp2", "Nouveau-mdp2"
    )
    with pytest.raises(LastAdministratorError):
        journey.platform.invalidate(admin, admin)


@pytest.mark.rule("R5")
def test_the_members_list_warns_while_there_is_a_single_administrator(
    journey: Journey, admin: str
) -> None:
    """R5: the columns of « Mes intervenants », and the single-administrator warning."""
    user = journey.active_user(admin)
    members = journey.platform.list_members(admin)
    assert members.warning is not None
    assert "au moins deux" in members.warning
    rows = {m.identifier: m for m in members.members}
    assert rows[user].profile == "Utilisateur"
    assert rows[user].status == "Actif"
    assert rows[admin].service == "Ressources humaines"
    assert not rows[admin].net_entreprises
    journey.platform.promote(admin, user)
    assert journey.platform.list_members(admin).warning is None


@pytest.mark.rule("R6")
def test_a_user_can_do_none_of_the_administrator_actions(journey: Journey, admin: str) -> None:
    """R6: every R5 action refused to a user."""
    user = journey.active_user(admin)
    platform = journey.platform
    actions: list[Callable[[], object]] = [
        lambda: platform.create_user(user, holder_form("Zoé", "Blanc")),
        lambda: platform.set_right(user, user, FMIS_REFUNDS.code, AccessLevel.MODIFY),
        lambda: platform.invalidate(user, admin),
        lambda: platform.renew(user, admin),
        lambda: platform.unblock(user, admin),
        lambda: platform.promote(user, user),
        lambda: platform.demote(user, admin),
        lambda: platform.list_members(user),
    ]
    for action in actions:
        with pytest.raises(PermissionDeniedError):
            action()
    assert state_of(journey, admin) is AccountState.ACTIVE


@pytest.mark.rule("R6")
def test_an_administrator_can_do_nothing_to_another_establishments_accounts(
    journey: Journey, admin: str
) -> None:
    """R6: the boundary is the establishment."""
    other = journey.enrolled_administrator(
        HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard")
    )
    actions: list[Callable[[], object]] = [
        lambda: journey.platform.set_right(admin, other, FMIS_REFUNDS.code, AccessLevel.MODIFY),
        lambda: journey.platform.invalidate(admin, other),
        lambda: journey.platform.demote(admin, other),
    ]
    for action in actions:
        with pytest.raises(PermissionDeniedError):
            action()
    assert state_of(journey, other) is AccountState.ACTIVE
    with pytest.raises(AccountNotFoundError):
        journey.platform.invalidate(admin, "ZZZ999999")
    with pytest.raises(PermissionDeniedError):
        journey.platform.invalidate("not-an-id", other)


@pytest.mark.rule("R6", "C8")
def test_a_pending_administrator_administers_nothing_before_day_j(journey: Journey) -> None:
    """R6/C8: before access opens, the applicant cannot act yet."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    with pytest.raises(PermissionDeniedError):
        journey.platform.create_user(submitted.identifier, holder_form("Luc", "Moreau"))


@pytest.mark.rule("E5", "C6")
def test_a_pending_administrator_does_not_count_as_the_second_one(
    journey: Journey, admin: str
) -> None:
    """E5: an administrator who never created a password may be deleted at 15 days."""
    created = journey.platform.create_user(admin, holder_form("Luc", "Moreau"))
    journey.platform.promote(admin, created.identifier)
    with pytest.raises(LastAdministratorError):
        journey.platform.demote(admin, admin)
    journey.later(days=16)
    journey.platform.sweep()
    assert state_of(journey, created.identifier) is AccountState.DELETED
    assert state_of(journey, admin) is AccountState.ACTIVE


@pytest.mark.rule("A7", "R6", "R8", "T1")
def test_an_administrator_past_expiry_administers_nothing_even_before_the_sweep(
    journey: Journey, admin: str
) -> None:
    """A7/T1: the actor's own expiry is enforced when it acts, and stands; R8: they are
    told their account's state, not that they lack rights."""
    user = journey.active_user(admin)
    journey.later(days=18 * 31)
    with pytest.raises(AccountStateForbidsLoginError) as refused:
        journey.platform.invalidate(admin, user)
    assert refused.value.text == "L'état de votre compte ne permet pas votre connexion."
    assert state_of(journey, admin) is AccountState.EXPIRED


@pytest.mark.rule("A4", "R5", "R8")
def test_an_administrator_blocked_by_an_attacker_is_told_so_not_that_rights_are_lacking(
    journey: Journey, admin: str
) -> None:
    """A4: an attacker's failed logins block an administrator; the administrator, then
    trying to act, is told « Votre compte est bloqué… » (the way out: « Mot de passe
    oublié »), never « Vous n'avez pas les droits nécessaires »."""
    user = journey.active_user(admin)
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(admin, "Attaque-123!")
    assert state_of(journey, admin) is AccountState.BLOCKED
    actions: list[Callable[[], object]] = [
        lambda: journey.platform.create_user(admin, holder_form("Zoé", "Blanc")),
        lambda: journey.platform.set_right(admin, user, FMIS_REFUNDS.code, AccessLevel.MODIFY),
        lambda: journey.platform.invalidate(admin, user),
        lambda: journey.platform.promote(admin, user),
        lambda: journey.platform.list_members(admin),
    ]
    for action in actions:
        with pytest.raises(AccountBlockedError) as refused:
            action()
        assert refused.value.text.startswith("Votre compte est bloqué")
        assert "droits" not in refused.value.text
    assert state_of(journey, user) is AccountState.ACTIVE
    assert state_of(journey, admin) is AccountState.BLOCKED
