"""Rules E3 and E4: enrolment states and eligibility."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from peps_onboarding import (
    Enrolment,
    EnrolmentState,
    Establishment,
    EstablishmentClosedError,
    Identifier,
    LegalCategory,
    LegalCategoryNotEligibleError,
    Policy,
    Siret,
    TransitionNotAllowedError,
)
from peps_onboarding.domain.establishment import check_eligibility

AT = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
APPLICANT = Identifier.parse("JDU000001")
POLICY = Policy()
SIRET = Siret.parse("21330063500017")


def pending() -> Enrolment:
    return Enrolment(siret=SIRET).submit_classic(applicant=APPLICANT, at=AT, policy=POLICY).state


@pytest.mark.rule("E3", "C5")
def test_submission_makes_the_establishment_pending_with_day_j_eight_days_later() -> None:
    """E3 NOT_ENROLLED → PENDING; C5: access date = submission day + 8 calendar days."""
    transition = Enrolment(siret=SIRET).submit_classic(applicant=APPLICANT, at=AT, policy=POLICY)
    assert transition.state.state is EnrolmentState.PENDING
    assert transition.state.access_from == datetime(2024, 3, 20, 23, tzinfo=UTC)  # 21/03 Paris
    assert [e.kind for e in transition.events] == ["registration_submitted"]


@pytest.mark.rule("E3", "C9", "C6", "C8")
def test_pending_goes_back_by_withdrawal_or_lapse_or_forward_on_day_j() -> None:
    """E3: PENDING → NOT_ENROLLED (withdrawn, lapsed) or → ENROLLED (day J)."""
    assert pending().withdraw(at=AT, actor="legal_representative").state.state is (
        EnrolmentState.NOT_ENROLLED
    )
    assert pending().lapse(at=AT).state.state is EnrolmentState.NOT_ENROLLED
    enrolment = pending()
    assert enrolment.access_from is not None
    with pytest.raises(TransitionNotAllowedError):
        enrolment.open_access(at=AT)
    opened = enrolment.open_access(at=enrolment.access_from)
    assert opened.state.state is EnrolmentState.ENROLLED


@pytest.mark.rule("E3", "E6")
def test_no_other_transition_exists() -> None:
    """E3: enrolled is final; nothing withdraws, lapses or re-submits it."""
    enrolment = pending()
    assert enrolment.access_from is not None
    enrolled = enrolment.open_access(at=enrolment.access_from).state
    actions: tuple[Callable[[], object], ...] = (
        lambda: enrolled.withdraw(at=AT, actor="x"),
        lambda: enrolled.lapse(at=AT),
        lambda: enrolled.submit_classic(applicant=APPLICANT, at=AT, policy=POLICY),
        lambda: enrolled.enrol_net_entreprises(applicant=APPLICANT, at=AT),
        lambda: pending().submit_classic(applicant=APPLICANT, at=AT, policy=POLICY),
        lambda: pending().enrol_net_entreprises(applicant=APPLICANT, at=AT),
        lambda: Enrolment(siret=SIRET).withdraw(at=AT, actor="x"),
        lambda: Enrolment(siret=SIRET).open_access(at=AT),
    )
    for action in actions:
        with pytest.raises(TransitionNotAllowedError):
            action()


@pytest.mark.rule("E3", "N4")
def test_net_entreprises_enrols_at_once() -> None:
    """N4: NOT_ENROLLED → ENROLLED directly, with no waiting period."""
    joined = Enrolment(siret=SIRET).enrol_net_entreprises(applicant=APPLICANT, at=AT)
    assert joined.state.state is EnrolmentState.ENROLLED
    assert joined.state.enrolled_at == AT


def establishment(category: str, *, closed: bool = False, ceased: bool = False) -> Establishment:
    return Establishment(
        siret=SIRET,
        designation="X",
        legal_category=LegalCategory(category),
        closed=closed,
        legal_unit_ceased=ceased,
    )


@pytest.mark.rule("E4")
@pytest.mark.parametrize("category", ["7210", "7364", "7490", "4110", "4140"])
def test_public_legal_categories_are_eligible_without_a_contract(category: str) -> None:
    """E4: 7xxx and 41xx are eligible on the Net-Entreprises path."""
    check_eligibility(establishment(category), has_contract=False, policy=POLICY)


@pytest.mark.rule("E4")
@pytest.mark.parametrize("category", ["5710", "5499", "9220", "1000"])
def test_other_categories_need_a_contract(category: str) -> None:
    """E4: a private clinic with an FMIS contract is eligible, without one it is not."""
    check_eligibility(establishment(category), has_contract=True, policy=POLICY)
    with pytest.raises(LegalCategoryNotEligibleError) as refused:
        check_eligibility(establishment(category), has_contract=False, policy=POLICY)
    assert "catégorie juridique" in refused.value.text


@pytest.mark.rule("E4")
@pytest.mark.parametrize(("closed", "ceased"), [(True, False), (False, True), (True, True)])
def test_closed_establishments_are_never_eligible(closed: bool, ceased: bool) -> None:
    """E4: « fermé » or legal unit « cessée » refuses even with a contract."""
    with pytest.raises(EstablishmentClosedError):
        check_eligibility(
            establishment("7210", closed=closed, ceased=ceased), has_contract=True, policy=POLICY
        )


@pytest.mark.rule("E4")
def test_the_eligible_set_is_policy() -> None:
    """E4: a host may narrow the eligible categories."""
    only_communes = Policy(eligible_legal_category_prefixes=("721",))
    with pytest.raises(LegalCategoryNotEligibleError):
        check_eligibility(establishment("7364"), has_contract=False, policy=only_communes)
