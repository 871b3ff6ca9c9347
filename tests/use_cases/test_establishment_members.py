"""« Mon établissement > Mes intervenants » for every member (R8), within R6's boundaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from attrs import evolve

from peps_onboarding import (
    FMIS_REFUNDS,
    AccessLevel,
    AccessNotYetOpenError,
    AccountBlockedError,
    AccountState,
    AccountStateForbidsLoginError,
    AdministratorContact,
    EnrolmentState,
    EstablishmentMembers,
    Identifier,
    InvalidCredentialsError,
    PermissionDeniedError,
    Siret,
)
from peps_onboarding.testing import COMMUNE, HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form

NBSP = "\u00a0"


@pytest.fixture
def admin(journey: Journey) -> str:
    """Madame Jeanne Dupont, the commune's only administrator."""
    return journey.enrolled_administrator()


def user_of(journey: Journey, admin: str, civility: str = "Monsieur") -> str:
    """Luc Moreau, a user the administrator created, who created his password."""
    holder = holder_form("Luc", "Moreau", civility=civility, phone="05 56 00 00 01")
    created = journey.platform.create_user(admin, holder)
    journey.create_password(holder.email)
    return created.identifier


def state_of(journey: Journey, identifier: str) -> AccountState:
    return journey.world.database.accounts[Identifier.parse(identifier)].state


@pytest.mark.rule("R8", "R5")
def test_a_user_reads_the_members_and_the_administrators_contact_details(
    journey: Journey, admin: str
) -> None:
    """R8: what a user sees under « Mes intervenants »: R5's columns for every member,
    and the administrator's courriel, téléphone fixe and service/fonction, with the
    seed's line on whom to ask for rights (agreed: one administrator, « Madame »)."""
    user = user_of(journey, admin)
    journey.platform.login(user, PASSWORD)
    seen = journey.platform.establishment_members(user)

    assert (seen.siret, seen.designation) == (COMMUNE, "Commune de Saint-Aubin-de-Médoc")
    assert (seen.viewer, seen.viewer_is_administrator) == (user, False)
    rows = {row.identifier: row for row in seen.members}
    assert set(rows) == {admin, user}
    mine = rows[user]
    assert (mine.last_name, mine.first_name, mine.net_entreprises) == ("Moreau", "Luc", False)
    assert (mine.service, mine.profile, mine.status) == (
        "Ressources humaines",
        "Utilisateur",
        "Actif",
    )
    assert mine.last_login_at == journey.clock.now()
    assert isinstance(mine.expires_on, date)
    assert rows[admin].profile == "Administrateur"
    assert seen.administrators == (
        AdministratorContact(
            identifier=admin,
            civility="Madame",
            last_name="Dupont",
            first_name="Jeanne",
            formal_name="Madame Jeanne Dupont",
            email="jeanne.dupont@employeur.example",
            phone="05 56 11 41 23",
            service="Ressources humaines",
            status="Actif",
        ),
    )
    assert seen.message == (
        "Seule l'administratrice de votre établissement est en mesure de vous attribuer les "
        "droits d'accès aux services, en lecture ou en modification. Vous devez la contacter."
    )
    assert seen.warning is None  # a user cannot designate a second administrator


@pytest.mark.rule("R8")
def test_the_user_s_line_agrees_with_one_administrator_or_several(
    journey: Journey, admin: str
) -> None:
    """R8: the seed's « le ou les administrateur(s) … le(s) contacter », agreed: a
    masculine plural once a « Monsieur » is among them, a feminine one when every one is
    « Madame »."""
    luc = user_of(journey, admin)
    journey.platform.promote(admin, luc)
    cecile = user_of_named(journey, admin, "Cécile", "Noël", "Madame")
    seen = journey.platform.establishment_members(cecile)
    assert [a.identifier for a in seen.administrators] == [admin, luc]
    assert seen.message.startswith("Seuls les administrateurs de votre établissement sont en")
    assert seen.message.endswith("Vous devez les contacter.")
    journey.platform.demote(admin, luc)
    journey.platform.promote(admin, cecile)
    seen = journey.platform.establishment_members(luc)
    assert seen.message.startswith("Seules les administratrices de votre établissement sont")
    journey.platform.demote(admin, cecile)
    journey.platform.promote(admin, luc)
    journey.platform.demote(luc, admin)
    seen = journey.platform.establishment_members(cecile)
    assert seen.message.startswith("Seul l'administrateur de votre établissement est en")
    assert seen.message.endswith("Vous devez le contacter.")


def user_of_named(journey: Journey, admin: str, first: str, last: str, civility: str) -> str:
    holder = holder_form(first, last, civility=civility)
    created = journey.platform.create_user(admin, holder)
    journey.create_password(holder.email)
    return created.identifier


@pytest.mark.rule("R8", "R5")
def test_an_administrator_reads_the_same_list_with_the_warning_and_their_own_line(
    journey: Journey, admin: str
) -> None:
    """R8: the same rows as R5's management view; the single-administrator warning and
    the seed's « En tant qu'administrateur, vous pouvez vous attribuer ces droits… »,
    agreed with « Madame »."""
    user = user_of(journey, admin)
    seen = journey.platform.establishment_members(admin)
    managed = journey.platform.list_members(admin)
    # The same rows; only the administrators' view carries each member's rights (R3).
    assert seen.members == tuple(evolve(row, rights=()) for row in managed.members)
    assert all(row.rights == () for row in seen.members)
    assert [right.level_label for right in managed.members[0].rights] == ["Aucun", "Aucun"]
    assert seen.viewer_is_administrator
    assert seen.warning == managed.warning
    assert seen.warning is not None and "au moins deux" in seen.warning
    assert seen.message == (
        f"En tant qu'administratrice, vous pouvez vous attribuer les droits d'accès aux "
        f"services{NBSP}; vous pouvez aussi créer des comptes pour d'autres utilisateurs et "
        "leur donner les droits d'accès."
    )
    journey.platform.promote(admin, user)
    assert journey.platform.establishment_members(admin).warning is None
    assert journey.platform.establishment_members(user).message.startswith(
        "En tant qu'administrateur,"
    )


@pytest.mark.rule("R8", "R6")
def test_reading_the_members_gives_a_user_none_of_the_administrators_actions(
    journey: Journey, admin: str
) -> None:
    """R6: a user who can read « Mes intervenants » still can do none of R5, the
    management view included; nothing changed."""
    user = user_of(journey, admin)
    assert journey.platform.establishment_members(user).members
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
    account = journey.world.database.accounts[Identifier.parse(user)]
    assert account.profile.value == "user"
    assert {right.level for right in account.rights} == {AccessLevel.NONE}


@pytest.mark.rule("R8", "R6")
def test_a_member_of_another_establishment_sees_nothing_of_this_one(
    journey: Journey, admin: str
) -> None:
    """R6: the list is always the actor's own establishment's; nobody else's members or
    contact details leak; an identifier that names nobody is refused as lacking rights."""
    user = user_of(journey, admin)
    other = journey.enrolled_administrator(
        HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard")
    )
    seen = journey.platform.establishment_members(other)
    assert seen.siret == HOSPITAL
    assert [row.identifier for row in seen.members] == [other]
    assert [a.identifier for a in seen.administrators] == [other]
    assert "jeanne.dupont@employeur.example" not in repr(seen)
    assert user not in repr(seen)
    for nobody in ("ZZZ999999", "not-an-id", "", COMMUNE):
        with pytest.raises(PermissionDeniedError) as refused:
            journey.platform.establishment_members(nobody)
        assert refused.value.text == (
            "Vous n'avez pas les droits nécessaires pour effectuer cette action."
        )


@pytest.mark.rule("R8", "A4")
@pytest.mark.parametrize("who", ["user", "administrator"])
def test_a_blocked_member_is_told_their_account_is_blocked(
    journey: Journey, admin: str, who: str
) -> None:
    """R8, A4: blocked by failed logins, user or administrator, the member is told so
    (and the way out, « Mot de passe oublié »), never that rights are lacking."""
    user = user_of(journey, admin)
    actor = user if who == "user" else admin
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(actor, "Attaque-123!")
    with pytest.raises(AccountBlockedError) as refused:
        journey.platform.establishment_members(actor)
    assert refused.value.text.startswith("Votre compte est bloqué")
    assert "Mot de passe oublié" in refused.value.text
    seen = journey.platform.establishment_members(user if actor == admin else admin)
    assert {row.identifier: row.status for row in seen.members}[actor] == "Bloqué"


@pytest.mark.rule("R8", "A4", "A7", "T1")
def test_a_member_past_expiry_is_told_the_state_and_the_expiry_stands(
    journey: Journey, admin: str
) -> None:
    """R8, A7: past the expiration date, before any sweep, the member is told « L'état
    de votre compte ne permet pas votre connexion. », and the account is expired."""
    user = user_of(journey, admin)
    journey.later(days=18 * 31)
    for actor in (user, admin):
        with pytest.raises(AccountStateForbidsLoginError) as refused:
            journey.platform.establishment_members(actor)
        assert refused.value.text == "L'état de votre compte ne permet pas votre connexion."
        assert state_of(journey, actor) is AccountState.EXPIRED


@pytest.mark.rule("R8", "A2")
def test_an_account_not_yet_activated_or_invalidated_reads_nothing(
    journey: Journey, admin: str
) -> None:
    """R8: only active members read; « En attente d'activation » and « Infirmé » are told
    that their account's state forbids it."""
    pending = journey.platform.create_user(admin, holder_form("Zoé", "Blanc")).identifier
    invalidated = user_of(journey, admin)
    journey.platform.invalidate(admin, invalidated)
    for actor in (pending, invalidated):
        with pytest.raises(AccountStateForbidsLoginError):
            journey.platform.establishment_members(actor)
    rows = {
        row.identifier: row.status for row in journey.platform.establishment_members(admin).members
    }
    assert rows[pending] == "En attente d'activation"
    assert invalidated not in rows


@pytest.mark.rule("R8", "C8", "T1")
def test_the_applicant_reads_from_day_j_which_opens_access_if_the_sweep_is_late(
    journey: Journey,
) -> None:
    """C8: before day J the applicant is told from which date access opens; on day J,
    before any sweep, the read opens access (enforced when used, T1) and shows the list."""
    submitted = journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    with pytest.raises(AccessNotYetOpenError) as refused:
        journey.platform.establishment_members(submitted.identifier)
    assert refused.value.text.endswith(f"à compter du {submitted.access_from:%d/%m/%Y}.")
    journey.later(days=journey.platform.policy.objection_period_days)
    seen = journey.platform.establishment_members(submitted.identifier)
    assert [row.identifier for row in seen.members] == [submitted.identifier]
    enrolment = journey.world.database.enrolments[Siret.parse(COMMUNE)]
    assert enrolment.state is EnrolmentState.ENROLLED


@pytest.mark.rule("R8", "N3")
def test_a_net_entreprises_user_finds_the_administrators_to_ask_for_rights(
    journey: Journey, admin: str
) -> None:
    """N3 then R8: the seed's very case — a user who joined through Net-Entreprises has no
    rights and looks under « Mes intervenants » for the administrators' coordinates."""
    joined = journey.join_with_net_entreprises()
    seen = journey.platform.establishment_members(joined.identifier)
    assert isinstance(seen, EstablishmentMembers)
    row = next(r for r in seen.members if r.identifier == joined.identifier)
    assert (row.net_entreprises, row.profile) == (True, "Utilisateur")
    contact = seen.administrators[0]
    assert (contact.email, contact.phone, contact.service) == (
        "jeanne.dupont@employeur.example",
        "05 56 11 41 23",
        "Ressources humaines",
    )
