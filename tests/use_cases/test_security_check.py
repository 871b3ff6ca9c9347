"""Step 1's security check through the platform (C1, W4): a challenge from
``Platform.security_check()``, its media, and its answer posted with SIRET and contract."""

from __future__ import annotations

import pytest

from peps_onboarding import (
    Argon2PasswordHasher,
    CaptchaFailedError,
    ClassicRegistration,
    EstablishmentIdentification,
    EstablishmentNotEnrolled,
    FakeClock,
    InMemoryDatabase,
    InMemoryLetterSender,
    InMemoryMailer,
    InMemoryNetEntreprisesVerifier,
    Platform,
    SeededRandomSource,
    TooManyAttemptsError,
    ValidationError,
    build,
)
from peps_onboarding.adapters.captcha.image_choice import ImageChoiceCaptcha
from peps_onboarding.testing import (
    COMMUNE,
    COMMUNE_CONTRACT,
    START,
    Journey,
    holder_form,
    step_one_proof,
)
from peps_onboarding.testing.samples import sample_directory


@pytest.fixture
def captcha() -> ImageChoiceCaptcha:
    return ImageChoiceCaptcha(clock=FakeClock(START))


@pytest.fixture
def wired(captcha: ImageChoiceCaptcha) -> Platform:
    """A platform whose step 1 asks the image-choice check, as production's does."""
    directory, database = sample_directory(), InMemoryDatabase()
    return build(
        unit_of_work=database.unit_of_work,
        registry=directory,
        contracts=directory,
        net_entreprises=InMemoryNetEntreprisesVerifier(),
        captcha=captcha,
        mailer=InMemoryMailer(),
        letters=InMemoryLetterSender(),
        secret=b"security-check-secret-0123456789",
        clock=FakeClock(START),
        hasher=Argon2PasswordHasher.fast_for_tests(),
        random=SeededRandomSource(3),
        accept_test_email_domains=True,
    )


def clicked(captcha: ImageChoiceCaptcha, challenge_id: str) -> str:
    """The key of the image the prompt names: what a person clicks."""
    issued = captcha._store.get(challenge_id)
    assert issued is not None
    return issued.target_key


def step_one(platform: Platform, challenge_id: str, response: str) -> object:
    return platform.identify_establishment(
        EstablishmentIdentification(
            siret=COMMUNE,
            contract_number=COMMUNE_CONTRACT,
            captcha_challenge=challenge_id,
            captcha_response=response,
        )
    )


@pytest.mark.rule("C1")
def test_step_one_passes_with_the_clicked_image_of_a_real_challenge(
    wired: Platform, captcha: ImageChoiceCaptcha
) -> None:
    """Rule C1: SIRET, contract number and the image the challenge names pass step 1, and
    its proof registers (C10)."""
    challenge = wired.security_check()
    assert challenge.kind == "images" and len(challenge.choices) == 6
    result = step_one(wired, challenge.id, clicked(captcha, challenge.id))
    assert isinstance(result, EstablishmentNotEnrolled)
    submitted = wired.register(
        ClassicRegistration(proof=result.proof, holder=holder_form(), terms_accepted=True)
    )
    assert submitted.message


@pytest.mark.rule("C1")
def test_a_wrong_image_a_reused_challenge_or_none_fails_and_reveals_nothing(
    wired: Platform, captcha: ImageChoiceCaptcha
) -> None:
    """Rule C1: another image, a challenge already answered, or the in-memory word with no
    challenge, all fail with the one message that says nothing of the establishment."""
    challenge = wired.security_check()
    right = clicked(captcha, challenge.id)
    wrong = next(choice.key for choice in challenge.choices if choice.key != right)
    with pytest.raises(CaptchaFailedError) as failed:
        step_one(wired, challenge.id, wrong)
    assert failed.value.message == "Le contrôle de sécurité n'est pas valide. Veuillez recommencer."
    with pytest.raises(CaptchaFailedError):
        step_one(wired, challenge.id, right)  # used by the wrong answer
    with pytest.raises(CaptchaFailedError):
        step_one(wired, "", "trombone")


@pytest.mark.rule("C1")
def test_an_empty_answer_is_a_required_field(wired: Platform) -> None:
    """Rule C1: the security check is required, like SIRET and contract number."""
    challenge = wired.security_check()
    with pytest.raises(ValidationError) as refused:
        step_one(wired, challenge.id, "  ")
    assert "controle_securite" in refused.value.fields


@pytest.mark.rule("C1", "W4")
def test_renewing_and_the_media_go_through_the_platform(
    wired: Platform, captcha: ImageChoiceCaptcha
) -> None:
    """Rules C1, W4: « Renouveler le contrôle de sécurité » is another call with a new
    id; each image and the sound version are served; unknown parts are not."""
    first, renewed = wired.security_check(), wired.security_check()
    assert renewed.id != first.id
    image = wired.security_check_media(renewed.id, renewed.choices[0].key)
    sound = wired.security_check_media(renewed.id, "son")
    assert image is not None and image.media_type == "image/svg+xml"
    assert sound is not None and sound.media_type == "audio/wav"
    assert wired.security_check_media(renewed.id, "x" * 10_000) is None
    assert wired.security_check_media("inconnu", "son") is None
    # The sound version's word answers step 1 too (W4).
    issued = captcha._store.get(first.id)
    assert issued is not None
    assert isinstance(step_one(wired, first.id, issued.spoken.name), EstablishmentNotEnrolled)


@pytest.mark.rule("C1")
def test_the_in_memory_check_issues_challenges_through_the_platform(journey: Journey) -> None:
    """Rule C1: the testing journey's platform issues challenges too; its word answers a
    challenge once, and ``step_one_proof`` takes the challenge's id."""
    challenge = journey.platform.security_check()
    assert challenge.prompt == "Cliquer sur l'image Trombone"
    proof = step_one_proof(
        journey.platform, COMMUNE, COMMUNE_CONTRACT, captcha_challenge=challenge.id
    )
    assert proof
    with pytest.raises(CaptchaFailedError):
        step_one_proof(journey.platform, COMMUNE, COMMUNE_CONTRACT, captcha_challenge=challenge.id)
    assert step_one_proof(journey.platform, COMMUNE, COMMUNE_CONTRACT)  # no id: as before


@pytest.mark.rule("P1", "C1")
def test_a_source_asking_for_challenges_without_end_is_held(journey: Journey) -> None:
    """Each challenge takes a place in a bounded store: a flood from one address would
    push out the challenges people are answering."""
    limit = journey.platform.policy.rate_limits.security_check_per_source.amount
    for _ in range(limit):
        journey.platform.security_check(client="203.0.113.7")
    with pytest.raises(TooManyAttemptsError):
        journey.platform.security_check(client="203.0.113.7")
    journey.platform.security_check(client="203.0.113.8")  # another source is not held
    journey.platform.security_check()  # nor a host that passes no address
