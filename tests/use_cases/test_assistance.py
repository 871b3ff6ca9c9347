"""The support's way out of an establishment's dead ends (R9), recorded in its history (L1)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peps_onboarding import (
    AccessLevel,
    AccountBlockedError,
    AccountNotFoundError,
    AccountState,
    AccountStateForbidsLoginError,
    Actor,
    AssistanceGiven,
    FieldError,
    Identifier,
    InvalidCredentialsError,
    LinkNoLongerValidError,
    PermissionDeniedError,
    Platform,
    TransitionNotAllowedError,
    ValidationError,
)
from peps_onboarding.application.assistance import REASON_MAX_LENGTH, parse_reason
from peps_onboarding.domain.account import Account
from peps_onboarding.domain.values import InvalidFieldError
from peps_onboarding.testing import COMMUNE, HOSPITAL, HOSPITAL_CONTRACT, PASSWORD, Journey
from peps_onboarding.testing.journeys import holder_form

OPERATOR = "support-lea"
REASON = "Appel du 02/12 : seule administratrice, compte expiré (ticket n° 4512)."
EMAIL = "jeanne.dupont@employeur.example"


@pytest.fixture
def admin(journey: Journey) -> str:
    return journey.enrolled_administrator()


def account(journey: Journey, identifier: str) -> Account:
    return journey.world.database.accounts[Identifier.parse(identifier)]


def block(journey: Journey, identifier: str) -> None:
    """An attacker's failed logins, as many as the policy allows (A4)."""
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises((InvalidCredentialsError, AccountBlockedError)):
            journey.platform.login(identifier, "Attaque-123!")
    assert account(journey, identifier).state is AccountState.BLOCKED


def expire(journey: Journey, identifier: str) -> None:
    """18 months without a login, then the sweep (A7, T1)."""
    journey.later(days=18 * 31)
    journey.platform.sweep()
    assert account(journey, identifier).state is AccountState.EXPIRED


def nobody_inside_can(journey: Journey, admin: str, user: str, act: str) -> None:
    """R5, R6: neither the only administrator (told their own state) nor a user (no
    rights) can renew or unblock the administrator."""
    own_state = (
        AccountBlockedError
        if account(journey, admin).state is AccountState.BLOCKED
        else AccountStateForbidsLoginError
    )
    action: Callable[[str, str], None] = getattr(journey.platform, act)
    with pytest.raises(own_state):
        action(admin, admin)
    with pytest.raises(PermissionDeniedError):
        action(user, admin)


@pytest.mark.rule("R9", "A7", "L1")
def test_the_support_renews_an_establishments_only_administrator_when_expired(
    journey: Journey, admin: str
) -> None:
    """R9: an only administrator expired, nobody in the establishment can renew anyone;
    an operator renews them with a reason, the 18 months restart (A7) and they log in."""
    user = journey.active_user(admin)
    journey.later(days=500)
    journey.platform.login(user, PASSWORD)  # the user stays active, the administrator not
    journey.later(days=60)
    journey.platform.sweep()
    assert account(journey, admin).state is AccountState.EXPIRED
    nobody_inside_can(journey, admin, user, "renew")
    with pytest.raises(AccountStateForbidsLoginError):
        journey.platform.login(admin, PASSWORD)

    journey.platform.assist_renew(OPERATOR, admin, reason=REASON)

    renewed = account(journey, admin)
    assert renewed.state is AccountState.ACTIVE
    assert renewed.expires_at == journey.platform.policy.expiry_from(journey.clock.now())
    journey.platform.login(admin, PASSWORD)
    assert journey.platform.list_members(admin).members  # administering again


@pytest.mark.rule("R9", "A2", "A4")
def test_the_support_unblocks_an_establishments_only_administrator(
    journey: Journey, admin: str
) -> None:
    """R9: an only administrator blocked by an attacker; nobody inside can unblock them;
    an operator does, with a reason, and the right password works again."""
    user = journey.active_user(admin)
    block(journey, admin)
    nobody_inside_can(journey, admin, user, "unblock")

    journey.platform.assist_unblock(OPERATOR, admin, reason="Bloquée par des tentatives inconnues")

    assert account(journey, admin).state is AccountState.ACTIVE
    assert account(journey, admin).failed_logins == 0
    journey.platform.login(admin, PASSWORD)
    journey.platform.set_right(admin, user, "fmis_refunds", AccessLevel.READ_ONLY)


@pytest.mark.rule("R9", "A4", "A7")
def test_a_renewal_by_the_support_frees_the_password_checks_spent_while_expired(
    journey: Journey, admin: str
) -> None:
    """A4: failures on an expired account spend its password-check slots; the support's
    renewal frees them, as an administrator's does, so the right password works at once."""
    expire(journey, admin)
    for _ in range(journey.platform.policy.max_failed_logins):
        with pytest.raises(InvalidCredentialsError):
            journey.platform.login(admin, "Wrong-pass1")
    with pytest.raises(InvalidCredentialsError):
        journey.platform.login(admin, PASSWORD)  # no slot left: not even compared
    journey.platform.assist_renew(OPERATOR, admin, reason=REASON)
    journey.platform.login(admin, PASSWORD)


@pytest.mark.rule("R9", "A7", "T1")
def test_an_expiry_not_yet_swept_is_applied_then_renewed_in_one_action(
    journey: Journey, admin: str
) -> None:
    """T1: past its expiration date the account is expired when the support acts, so
    the renewal applies to it; the history says both, in order."""
    journey.later(days=18 * 31)  # no sweep: still « Actif » in the store
    assert account(journey, admin).state is AccountState.ACTIVE
    journey.platform.assist_renew(OPERATOR, admin, reason=REASON)
    kinds = [e.kind for e in journey.platform.history(COMMUNE)][-3:]
    assert kinds == ["account_expired", "assistance_given", "account_renewed"]
    journey.platform.login(admin, PASSWORD)


@pytest.mark.rule("R9", "L1")
def test_the_reason_and_the_operator_are_in_the_history(journey: Journey, admin: str) -> None:
    """L1: an AssistanceGiven event carries the reason; it and the change name the
    operator, which no account identifier can be mistaken for."""
    expire(journey, admin)
    journey.platform.assist_renew(OPERATOR, admin, reason=f"  {REASON}  ")
    given, renewed = journey.platform.history(COMMUNE)[-2:]
    assert isinstance(given, AssistanceGiven)
    assert (given.action, given.reason, given.account) == (AssistanceGiven.RENEW, REASON, admin)
    assert renewed.kind == "account_renewed"
    assert given.actor == renewed.actor == "operator:support-lea"
    assert Actor.operator_of(given.actor) == OPERATOR
    assert Actor.operator_of(admin) is None
    with pytest.raises(ValueError):  # noqa: PT011 - the identifier's own parse error
        Identifier.parse(given.actor)


@pytest.mark.rule("R9", "C3", "C6", "A8")
def test_the_support_resends_an_applicants_link_without_extending_the_fifteen_days(
    journey: Journey,
) -> None:
    """R9, C3: a pending registration's applicant gets a new link; the old one stops
    working; the new one ends when the first would have, and 15 days after the
    submission the registration lapses all the same (C6)."""
    submitted = journey.register()
    first = journey.last_token(EMAIL)
    deadline = account(journey, submitted.identifier).activation_deadline
    journey.later(days=10)
    journey.platform.assist_resend_creation_link(
        OPERATOR, submitted.identifier, reason="Le courriel n'est jamais arrivé"
    )
    second = journey.last_token(EMAIL)
    assert second != first
    assert account(journey, submitted.identifier).activation_deadline == deadline
    # The reason first, then the new creation link and the applicant's withdrawal link.
    issued = journey.platform.history(COMMUNE)[-3:]
    assert [e.kind for e in issued] == ["assistance_given", "link_issued", "link_issued"]
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(first, PASSWORD, PASSWORD)
    journey.later(days=6)  # 16 days after the submission
    assert journey.platform.sweep().registrations_lapsed == 1
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(second, PASSWORD, PASSWORD)


@pytest.mark.rule("R9", "R5", "A8")
def test_the_support_resends_the_link_of_a_user_an_administrator_created(
    journey: Journey, admin: str
) -> None:
    """R9: a user still « En attente d'activation » gets a new link, worded as the
    administrator's creation was; the old link stops working, the new one works."""
    created = journey.platform.create_user(admin, holder_form("Luc", "Moreau"))
    first = journey.last_token("luc.moreau@employeur.example")
    journey.platform.assist_resend_creation_link(
        OPERATOR, created.identifier, reason="Courriel supprimé par erreur"
    )
    mail = journey.mails_to("luc.moreau@employeur.example")[-1]
    assert "Madame Jeanne Dupont, administratrice" in mail.text
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.create_password(first, PASSWORD, PASSWORD)
    journey.create_password("luc.moreau@employeur.example")
    assert account(journey, created.identifier).state is AccountState.ACTIVE


@pytest.mark.rule("R9", "L1")
@pytest.mark.parametrize(
    ("operator", "reason", "fields"),
    [
        (OPERATOR, "", {"motif"}),
        (OPERATOR, "   ", {"motif"}),
        (OPERATOR, None, {"motif"}),
        (OPERATOR, "x" * 501, {"motif"}),
        (OPERATOR, "Appel\ndu client", {"motif"}),
        (OPERATOR, "Appel du client \u202e", {"motif"}),
        (OPERATOR, "Appel\x00", {"motif"}),
        ("", REASON, {"operateur"}),
        ("x" * 32, REASON, {"operateur"}),
        ("léa\u00a0martin", REASON, {"operateur"}),
        ("  ", "", {"operateur", "motif"}),
    ],
)
def test_a_missing_or_unfit_reason_is_refused_and_nothing_changes(
    journey: Journey, admin: str, operator: str, reason: str | None, fields: set[str]
) -> None:
    """R9: the reason is mandatory (non-blank, at most 500 characters, no control
    characters) and the operator named; every field error at once, nothing stored."""
    block(journey, admin)
    history = journey.platform.history(COMMUNE)
    commits = journey.world.database.commits
    with pytest.raises(ValidationError) as refused:
        journey.platform.assist_unblock(operator, admin, reason=reason)  # type: ignore[arg-type]
    assert set(refused.value.fields) == fields
    assert all(message.endswith(".") for message in refused.value.messages.values())
    assert journey.world.database.commits == commits
    assert journey.platform.history(COMMUNE) == history
    assert account(journey, admin).state is AccountState.BLOCKED


@pytest.mark.rule("R9")
def test_the_reason_messages_are_french(journey: Journey, admin: str) -> None:
    """R9: the field errors say what is wrong with the reason, in French."""
    block(journey, admin)
    with pytest.raises(ValidationError) as blank:
        journey.platform.assist_unblock(OPERATOR, admin, reason=" ")
    assert blank.value.messages == {"motif": "Le motif est obligatoire."}
    with pytest.raises(ValidationError) as long:
        journey.platform.assist_unblock(OPERATOR, admin, reason="x" * 501)
    assert long.value.messages == {"motif": "Le motif ne doit pas dépasser 500 caractères."}
    journey.platform.assist_unblock(OPERATOR, admin, reason="é" * 500)  # exactly the bound


@pytest.mark.rule("R9", "A2")
def test_the_support_is_refused_what_the_account_state_does_not_allow(
    journey: Journey, admin: str
) -> None:
    """A2: an active account cannot be renewed nor unblocked, nor be sent a creation
    link; an unknown account is not found. Nothing is stored."""
    commits = journey.world.database.commits
    for act in (
        journey.platform.assist_renew,
        journey.platform.assist_unblock,
        journey.platform.assist_resend_creation_link,
    ):
        with pytest.raises(TransitionNotAllowedError):
            act(OPERATOR, admin, reason=REASON)
        for unknown in ("ZZZ999999", "pas-un-identifiant"):
            with pytest.raises(AccountNotFoundError):
                act(OPERATOR, unknown, reason=REASON)
    assert journey.world.database.commits == commits


@pytest.mark.rule("R9", "R6")
def test_the_support_acts_for_any_establishment(journey: Journey, admin: str) -> None:
    """R9: no establishment boundary for the support, unlike an administrator's (R6)."""
    other = journey.enrolled_administrator(
        HOSPITAL, HOSPITAL_CONTRACT, holder=holder_form("Luc", "Bernard")
    )
    block(journey, admin)
    block(journey, other)
    journey.platform.assist_unblock(OPERATOR, admin, reason=REASON)
    journey.platform.assist_unblock("support-marc", other, reason="Appel de l'hôpital")
    assert account(journey, admin).state is account(journey, other).state is AccountState.ACTIVE
    assert journey.platform.history(HOSPITAL)[-2].actor == "operator:support-marc"


@pytest.mark.rule("R9", "R5", "R6", "E5")
@pytest.mark.parametrize("operator", [OPERATOR, Actor.operator(OPERATOR)])
def test_the_support_cannot_do_what_r9_does_not_list(
    journey: Journey, admin: str, operator: str
) -> None:
    """R9 lists three actions. The facade offers no other to an operator, and an
    operator's name (bare, or as the events write it) is no administrator: invalidating,
    promoting, demoting, granting rights, creating users or listing members are refused."""
    user = journey.active_user(admin)
    assistance = {name for name in vars(Platform) if name.startswith("assist")}
    assert assistance == {"assist_renew", "assist_unblock", "assist_resend_creation_link"}
    platform = journey.platform
    actions: list[Callable[[], object]] = [
        lambda: platform.invalidate(operator, user),
        lambda: platform.promote(operator, user),
        lambda: platform.demote(operator, admin),
        lambda: platform.set_right(operator, user, "fmis_refunds", AccessLevel.MODIFY),
        lambda: platform.create_user(operator, holder_form("Zoé", "Blanc")),
        lambda: platform.list_members(operator),
    ]
    for action in actions:
        with pytest.raises(PermissionDeniedError):
            action()
    assert account(journey, user).state is AccountState.ACTIVE
    assert account(journey, user).profile.value == "user"
    assert not any(isinstance(e, AssistanceGiven) for e in platform.history(COMMUNE))


@pytest.mark.rule("R9", "L1")
@given(raw=st.text(max_size=600) | st.none() | st.integers())
def test_a_reason_is_kept_as_typed_or_refused_on_its_field(raw: object) -> None:
    """R9: whatever the host passes, the reason is refused on « motif » with a French
    message, or kept as typed (ends trimmed): one printable line of at most 500."""
    error: FieldError | None = None
    try:
        reason = parse_reason(raw)
    except InvalidFieldError as refused:
        error = refused.error
    if error is not None:
        assert error.message.endswith(".") and error.code
        return
    assert isinstance(raw, str)
    assert reason == unicodedata.normalize("NFC", raw).strip()
    assert 0 < len(reason) <= REASON_MAX_LENGTH
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in reason)
