"""The image-choice security check (C1) and its sound version (W4), and the in-memory
one tests use: answers, single use, expiry, renewal, what the media give away."""

from __future__ import annotations

import io
import re
import wave
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import pytest

from peps_onboarding.adapters.captcha.image_choice import ImageChoiceCaptcha
from peps_onboarding.adapters.captcha.vocabulary import OBJECTS
from peps_onboarding.adapters.clock import FakeClock
from peps_onboarding.adapters.memory import InMemoryCaptchaVerifier
from peps_onboarding.ports import CaptchaVerifier, SecurityChallenge
from peps_onboarding.testing import START
from peps_onboarding.testing.contracts import CaptchaVerifierContract

NAMES = [item.name for item in OBJECTS]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def images(clock: FakeClock) -> ImageChoiceCaptcha:
    return ImageChoiceCaptcha(clock=clock)


def target_key(captcha: ImageChoiceCaptcha, challenge: SecurityChallenge) -> str:
    """The key of the image the prompt names (what a person clicks): read from the
    adapter's own store, as only a test may."""
    issued = captcha._store.get(challenge.id)
    assert issued is not None
    return issued.target_key


def spoken_word(captcha: ImageChoiceCaptcha, challenge: SecurityChallenge) -> str:
    issued = captcha._store.get(challenge.id)
    assert issued is not None
    return issued.spoken.name


def key_of(captcha: ImageChoiceCaptcha, challenge: SecurityChallenge, name: str) -> str | None:
    issued = captcha._store.get(challenge.id)
    assert issued is not None
    return next((key for key, item in issued.choices.items() if item.name == name), None)


class TestImageChoiceContract(CaptchaVerifierContract):
    @pytest.fixture
    def captcha(self) -> CaptchaVerifier:
        return ImageChoiceCaptcha()


class TestInMemoryContract(CaptchaVerifierContract):
    @pytest.fixture
    def captcha(self) -> CaptchaVerifier:
        return InMemoryCaptchaVerifier()


# --- the image choice --------------------------------------------------------------------


@pytest.mark.rule("C1")
def test_a_challenge_asks_to_click_one_of_six_office_objects(images: ImageChoiceCaptcha) -> None:
    """Rule C1: « Cliquer sur l'image Trombone »-style prompt, six images « Image 1 »…
    « Image 6 », ten minutes to answer."""
    challenge = images.challenge()
    assert challenge.kind == "images"
    assert re.fullmatch(r"Cliquer sur l'image (.+)", challenge.prompt)
    assert challenge.prompt.removeprefix("Cliquer sur l'image ") in NAMES
    assert [choice.label for choice in challenge.choices] == [f"Image {n}" for n in range(1, 7)]
    assert challenge.sound_prompt == "Saisissez le mot que vous entendez"
    assert challenge.expires_at == START + timedelta(minutes=10)


@pytest.mark.rule("C1")
def test_the_target_images_key_passes(images: ImageChoiceCaptcha) -> None:
    """Rule C1: clicking the image the prompt names passes."""
    challenge = images.challenge()
    assert images.verify(challenge.id, target_key(images, challenge)) is True


@pytest.mark.rule("C1")
def test_another_images_key_or_a_made_up_one_fails(images: ImageChoiceCaptcha) -> None:
    """Rule C1: any other image, or a key of another challenge, fails."""
    challenge = images.challenge()
    wrong = next(c.key for c in challenge.choices if c.key != target_key(images, challenge))
    assert images.verify(challenge.id, wrong) is False
    second, third = images.challenge(), images.challenge()
    assert images.verify(second.id, target_key(images, third)) is False


@pytest.mark.rule("C1")
def test_a_challenge_answers_one_verification_only(images: ImageChoiceCaptcha) -> None:
    """Rule C1: single use, right or wrong: a right answer after a wrong one fails, and a
    right answer cannot be replayed."""
    missed = images.challenge()
    right = target_key(images, missed)
    assert images.verify(missed.id, "wrong") is False
    assert images.verify(missed.id, right) is False
    passed = images.challenge()
    right = target_key(images, passed)
    assert images.verify(passed.id, right) is True
    assert images.verify(passed.id, right) is False
    assert images.media(passed.id, passed.choices[0].key) is None


@pytest.mark.rule("C1")
def test_a_challenge_expires_after_ten_minutes(
    images: ImageChoiceCaptcha, clock: FakeClock
) -> None:
    """Rule C1: past its ``expires_at`` (the clock port's time) a challenge neither
    passes nor serves its media."""
    late, on_time = images.challenge(), images.challenge()
    late_key, on_time_key = target_key(images, late), target_key(images, on_time)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert images.verify(on_time.id, on_time_key) is True
    clock.advance(timedelta(seconds=1))
    assert images.media(late.id, "son") is None
    assert images.verify(late.id, late_key) is False


@pytest.mark.rule("C1")
def test_a_callable_clock_is_accepted(clock: FakeClock) -> None:
    """Rule C1: the clock is the clock port, or a bare callable returning the time."""
    captcha = ImageChoiceCaptcha(clock=clock.now)
    challenge = captcha.challenge()
    clock.advance(timedelta(minutes=11))
    assert captcha.verify(challenge.id, "x") is False
    assert challenge.expires_at == START + timedelta(minutes=10)


@pytest.mark.rule("C1")
def test_renewing_gives_a_new_challenge_and_the_old_one_keeps_its_own_answer(
    images: ImageChoiceCaptcha,
) -> None:
    """Rule C1: « Renouveler le contrôle de sécurité » is a new challenge with a new id
    and new keys; the one shown before is still answered by its own image only."""
    first = images.challenge()
    renewed = images.challenge()
    assert renewed.id != first.id
    assert not {c.key for c in first.choices} & {c.key for c in renewed.choices}
    assert images.verify(first.id, target_key(images, renewed)) is False
    again = images.challenge()
    assert images.verify(again.id, target_key(images, again)) is True
    assert images.verify(renewed.id, target_key(images, renewed)) is True


@pytest.mark.rule("C1")
def test_nothing_shown_or_named_gives_the_answer_away(images: ImageChoiceCaptcha) -> None:
    """Rule C1: labels are « Image n »; no key, label or served image names an object."""
    for _ in range(30):
        challenge = images.challenge()
        for choice in challenge.choices:
            assert choice.label.startswith("Image ")
            medium = images.media(challenge.id, choice.key)
            assert medium is not None and medium.media_type == "image/svg+xml"
            text = medium.content.decode("utf-8").casefold()
            for item in OBJECTS:
                for word in (item.name, item.slug, item.lucide):
                    assert word.casefold() not in choice.label.casefold()
                    assert f"lucide-{word}".casefold() not in text
            assert "<title" not in text and "lucide" not in text


@pytest.mark.rule("C1")
def test_the_same_object_is_served_as_different_bytes_in_two_challenges(
    images: ImageChoiceCaptcha,
) -> None:
    """Rule C1: each challenge redraws its images, so the bytes of an image do not map to
    an object; no path of the Lucide file survives in what is served."""
    lucide = (
        resources.files("peps_onboarding.adapters.captcha")
        .joinpath("assets/pictogrammes/trombone.svg")
        .read_text()
    )
    lucide_paths = re.findall(r' d="([^"]+)"', lucide)
    served: list[bytes] = []
    while len(served) < 2:
        challenge = images.challenge()
        key = key_of(images, challenge, "Trombone")
        if key is not None:
            medium = images.media(challenge.id, key)
            assert medium is not None
            served.append(medium.content)
            assert images.media(challenge.id, key) == medium  # one URL, the same bytes
    assert served[0] != served[1]
    for content in served:
        assert content.startswith(b"<svg") and content.endswith(b"</svg>")
        for path in lucide_paths:
            assert path.encode() not in content


@pytest.mark.rule("W4", "C1")
def test_the_sound_version_is_a_wav_whose_spoken_word_passes(images: ImageChoiceCaptcha) -> None:
    """Rule W4: the non-graphic alternative is a real WAV (16 kHz mono, a second or two)
    of a French word; typing that word, in any case and with or without its accent,
    passes (C1), single use like the images."""
    for typed in (str.lower, str.upper, lambda w: f"  {w.replace('é', 'e').replace('è', 'e')} "):
        challenge = images.challenge()
        medium = images.media(challenge.id, "son")
        assert medium is not None and medium.media_type == "audio/wav"
        with wave.open(io.BytesIO(medium.content)) as sound:
            assert (sound.getnchannels(), sound.getframerate()) == (1, 16_000)
            seconds = sound.getnframes() / sound.getframerate()
        assert 0.4 < seconds < 3
        word = spoken_word(images, challenge)
        assert images.verify(challenge.id, typed(word)) is True
        assert images.verify(challenge.id, typed(word)) is False


@pytest.mark.rule("W4", "C1")
def test_the_sound_names_another_object_than_the_prompt(images: ImageChoiceCaptcha) -> None:
    """Rules W4, C1: the prompt names the image target in clear text, so typing it must
    not pass: the sound version speaks another object, and the sounds differ per
    challenge."""
    sounds = set()
    for _ in range(30):
        challenge = images.challenge()
        named = challenge.prompt.removeprefix("Cliquer sur l'image ")
        assert spoken_word(images, challenge) != named
        medium = images.media(challenge.id, "son")
        assert medium is not None
        sounds.add(medium.content)
        assert images.verify(challenge.id, named) is False
    assert len(sounds) == 30


@pytest.mark.rule("C1")
@pytest.mark.parametrize(
    "response",
    ["", " ", "\x00", "\x1b[2J", "\ud800", "é" * 10_000, "x" * 1_000_000, None, 42, b"key"],
)
def test_hostile_input_returns_false(images: ImageChoiceCaptcha, response: Any) -> None:
    """Rule C1: whatever a form posts, verify returns False and media None; nothing
    raises."""
    challenge = images.challenge()
    assert images.verify(challenge.id, response) is False
    assert images.verify(response, target_key(images, images.challenge())) is False
    assert images.media(response, "son") is None
    other = images.challenge()
    assert images.media(other.id, response) is None


@pytest.mark.rule("C1")
def test_the_store_is_bounded(clock: FakeClock) -> None:
    """Rule C1: a flood of challenges costs bounded memory: past ``capacity`` the
    oldest is forgotten."""
    captcha = ImageChoiceCaptcha(clock=clock, capacity=3)
    first = captcha.challenge()
    key = target_key(captcha, first)
    for _ in range(3):
        captcha.challenge()
    assert len(captcha._store) == 3
    assert captcha.verify(first.id, key) is False


def test_every_object_has_its_pictogram_and_its_sound() -> None:
    """The package data the build tool wrote: one SVG and one small WAV per object."""
    assets = resources.files("peps_onboarding.adapters.captcha").joinpath("assets")
    for item in OBJECTS:
        assert assets.joinpath(f"pictogrammes/{item.slug}.svg").read_text().count("ISC") == 1
        data = assets.joinpath(f"sons/{item.slug}.wav").read_bytes()
        assert len(data) < 25_000
        with wave.open(io.BytesIO(data)) as sound:
            assert (sound.getnchannels(), sound.getframerate()) == (1, 16_000)
    notice = assets.joinpath("NOTICE").read_text()
    assert "lucide-static" in notice and "ISC" in notice and "Lucide Icons" in notice
    assert "espeak-ng" in notice.casefold()


# --- the in-memory one ---------------------------------------------------------------------


@pytest.mark.rule("C1")
def test_in_memory_still_accepts_the_current_answer_without_a_challenge() -> None:
    """Rule C1: tests and the demo answer « trombone » with no challenge id."""
    captcha = InMemoryCaptchaVerifier()
    assert captcha.verify("", "trombone") is True
    assert captcha.verify("", " Trombone ") is True
    assert captcha.verify("", "agrafe") is False
    captcha.renew()
    assert captcha.verify("", "trombone") is False


@pytest.mark.rule("C1")
def test_in_memory_challenges_are_answered_by_key_or_word_once(clock: FakeClock) -> None:
    """Rule C1: the in-memory check issues real challenges: its target's key or word
    passes once; a renewal does not change what an issued challenge asks; it expires."""
    captcha = InMemoryCaptchaVerifier(clock=clock)
    challenge = captcha.challenge()
    assert challenge.prompt == "Cliquer sur l'image Trombone"
    captcha.renew()  # now « Ciseaux »; the challenge shown keeps « Trombone »
    assert captcha.verify(challenge.id, "trombone") is True
    assert captcha.verify(challenge.id, "trombone") is False
    renewed = captcha.challenge()
    assert renewed.prompt == "Cliquer sur l'image Ciseaux"
    labels = [choice.label for choice in renewed.choices]
    assert labels == ["Image 1", "Image 2", "Image 3", "Image 4"]
    medium = captcha.media(renewed.id, renewed.choices[1].key)
    assert medium is not None and b"Ciseaux" not in medium.content
    sound = captcha.media(renewed.id, "son")
    assert sound is not None
    with wave.open(io.BytesIO(sound.content)) as parsed:
        assert parsed.getnframes() > 0
    clock.advance(timedelta(minutes=10))
    assert captcha.verify(renewed.id, "ciseaux") is False


def test_in_memory_expiry_is_aware(clock: FakeClock) -> None:
    """Rule T1: the expiry is an aware UTC datetime from the given clock."""
    challenge = InMemoryCaptchaVerifier(clock=clock).challenge()
    assert isinstance(challenge.expires_at, datetime)
    assert challenge.expires_at.utcoffset() == timedelta(0)
