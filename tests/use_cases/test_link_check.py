"""Rule W2 in the platform: what opening an e-mailed link shows is a read."""

from __future__ import annotations

import pytest

from peps_onboarding import LinkNoLongerValidError
from peps_onboarding.testing import COMMUNE, PASSWORD, Journey, holder_form

EMAIL = "jeanne.dupont@employeur.example"


@pytest.mark.rule("W2", "C6")
def test_a_usable_creation_link_is_checked_without_being_spent(journey: Journey) -> None:
    journey.register(holder=holder_form())
    journey.deliver()
    token = journey.last_token(EMAIL)
    history = journey.platform.history(COMMUNE)
    for _ in range(3):
        journey.platform.check_password_creation_link(token)
    assert journey.platform.history(COMMUNE) == history
    journey.platform.create_password(token, PASSWORD, PASSWORD)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.check_password_creation_link(token)


@pytest.mark.rule("W2", "C6", "T1")
def test_an_expired_creation_link_names_the_administrators_and_records_nothing(
    journey: Journey,
) -> None:
    journey.register(holder=holder_form())
    journey.deliver()
    token = journey.last_token(EMAIL)
    journey.later(days=16)
    history = journey.platform.history(COMMUNE)
    with pytest.raises(LinkNoLongerValidError) as raised:
        journey.platform.check_password_creation_link(token)
    assert raised.value.administrators == ()
    assert journey.platform.history(COMMUNE) == history  # the lapse is the sweep's to record


@pytest.mark.rule("W2", "A5")
def test_a_reset_link_is_checked_for_its_own_purpose(journey: Journey) -> None:
    identifier = journey.enrolled_administrator()
    journey.platform.request_password_reset(identifier)
    journey.deliver()
    token = journey.last_token(EMAIL)
    journey.platform.check_password_reset_link(token)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.check_password_creation_link(token)
    with pytest.raises(LinkNoLongerValidError):
        journey.platform.check_password_reset_link("not a token at all")
