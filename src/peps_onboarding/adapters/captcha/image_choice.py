"""The image-choice security check (rule C1), in the seed's manner: « Cliquer sur l'image
Trombone » among six pictograms, with a sound version (W4).

What it does. Each challenge draws six of the ten office objects of
:mod:`.vocabulary`, one of them the target the prompt names. Each image is known to the
form only by a random key, and to assistive technologies only as « Image 1 »…
« Image 6 »: neither the page nor the accessible names say which is which. Each served
SVG is redrawn for its challenge (:mod:`.drawing`: every coordinate rotated, scaled,
shifted and jittered, the shapes shuffled; then colour, stroke, background tint and a
few faint strokes of noise), so neither the bytes nor the path data of an image map to
an object, and a table of known files does not answer it. The sound version speaks
the name of *another* object, drawn apart (the prompt already names the image target in
clear text, so it cannot be the sound's answer); it too is altered per challenge
(leading silence, speed, loudness, a little noise). Answers are compared with
:func:`hmac.compare_digest`; a challenge is single use, right or wrong, and expires (ten
minutes by default).

What it does not stop. A guess is right one time in six (a typed word one in ten): the
rate limits of step 1 (P1) are what bound guessing, not this. A program trained to
recognise these ten pictograms, or a speech recogniser on the sound, passes it; so does
a person paid to answer. It keeps away scripts that post the form blindly or replay an
answer; a host exposed to determined bots uses CaptchEtat
(:mod:`.captchetat`) or its own check.

State. Issued challenges live in this process (:class:`.store.ChallengeStore`,
bounded, with expiry, on the clock port). Several server processes need a shared store,
sticky sessions, or CaptchEtat.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import hmac
import io
import random as weak_random
import re
import secrets
import wave
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Final

from attrs import frozen

from ...ports import (
    ChallengeChoice,
    ChallengeMedia,
    Clock,
    RandomSource,
    SecurityChallenge,
)
from .answers import same_key, same_word
from .drawing import Command, Similarity, redrawn_path, shapes
from .store import ChallengeStore, now_of
from .vocabulary import OBJECTS, OfficeObject

__all__ = ["ImageChoiceCaptcha"]

SOUND: Final = "son"
SOUND_PROMPT: Final = "Saisissez le mot que vous entendez"
_MAX_INPUT: Final = 256  # longer than any key or word: refused before any work
_SVG_BODY: Final = re.compile(r"<svg\b[^>]*>(.*)</svg>", re.DOTALL)
_RATE: Final = 16_000


@frozen(kw_only=True)
class _Issued:
    target_key: str
    spoken: OfficeObject  # the sound version's word (never the image target)
    choices: Mapping[str, OfficeObject]  # key -> what it shows
    seed: bytes  # draws the per-challenge variations of its media


class ImageChoiceCaptcha:
    """Rule C1's image choice, W4's sound version; see the module for what it stops.

    ``clock`` is the clock port (or a callable returning an aware datetime); ``random``
    the secret randomness of ids, keys and draws (the system's by default).
    """

    def __init__(
        self,
        *,
        choices: int = 6,
        ttl: timedelta = timedelta(minutes=10),
        capacity: int = 10_000,
        clock: Clock | Callable[[], datetime] | None = None,
        random: RandomSource | None = None,
    ) -> None:
        if not 2 <= choices <= len(OBJECTS):
            raise ValueError(f"choices must be between 2 and {len(OBJECTS)}")
        self._count = choices
        self._token = random.token_bytes if random is not None else secrets.token_bytes
        self._store: ChallengeStore[_Issued] = ChallengeStore(
            ttl=ttl, capacity=capacity, now=now_of(clock)
        )

    def challenge(self) -> SecurityChallenge:
        """Rule C1: a new challenge; « Renouveler le contrôle de sécurité » asks another."""
        drawn = self._sample(OBJECTS, self._count)
        target = drawn[self._below(len(drawn))]
        others = [item for item in OBJECTS if item != target]
        keys = [self._id(12) for _ in drawn]
        issued = _Issued(
            target_key=keys[drawn.index(target)],
            spoken=others[self._below(len(others))],
            choices=dict(zip(keys, drawn, strict=True)),
            seed=self._token(16),
        )
        challenge_id = self._id(24)
        expires_at = self._store.add(challenge_id, issued)
        return SecurityChallenge(
            id=challenge_id,
            kind="images",
            prompt=f"Cliquer sur l'image {target.name}",
            choices=tuple(
                ChallengeChoice(key=key, label=f"Image {index}")
                for index, key in enumerate(keys, start=1)
            ),
            sound_prompt=SOUND_PROMPT,
            expires_at=expires_at,
        )

    def media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        """One of the challenge's images (``part`` = its key) or its sound (``"son"``)."""
        if not _acceptable(challenge_id) or not _acceptable(part):
            return None
        issued = self._store.get(challenge_id)
        if issued is None:
            return None
        variation = _variation(issued.seed, part)
        if part == SOUND:
            return ChallengeMedia(
                content=_altered_sound(issued.spoken.slug, variation), media_type="audio/wav"
            )
        shown = issued.choices.get(part)
        if shown is None:
            return None
        return ChallengeMedia(content=_redrawn(shown.slug, variation), media_type="image/svg+xml")

    def verify(self, challenge_id: str, response: str) -> bool:
        """Rule C1: the target's key, or the sound version's word typed; the challenge is
        used up either way. Never raises on what a form may post."""
        if not _acceptable(challenge_id):
            return False
        issued = self._store.take(challenge_id)
        if issued is None or not isinstance(response, str) or len(response) > _MAX_INPUT:
            return False
        # Both compared every time, so that the time taken does not say which was tried.
        by_key = same_key(response.strip(), issued.target_key)
        by_word = same_word(response, issued.spoken.spoken)
        return by_key | by_word

    # --- secret draws ------------------------------------------------------------------

    def _id(self, size: int) -> str:
        return base64.urlsafe_b64encode(self._token(size)).rstrip(b"=").decode("ascii")

    def _below(self, bound: int) -> int:
        """A uniform draw in ``range(bound)`` from the secret source (rejection sampling)."""
        limit = (1 << 32) - (1 << 32) % bound
        while True:
            value = int.from_bytes(self._token(4), "big")
            if value < limit:
                return value % bound

    def _sample(self, items: tuple[OfficeObject, ...], count: int) -> list[OfficeObject]:
        pool = list(items)
        return [pool.pop(self._below(len(pool))) for _ in range(count)]


def _acceptable(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_INPUT


def _variation(seed: bytes, part: str) -> weak_random.Random:
    """The draws that alter one medium of one challenge. Seeded from the challenge's
    secret seed, so one URL always gives the same bytes; they only disguise a picture,
    which no secret depends on."""
    digest = hmac.new(seed, part.encode("utf-8", "replace"), hashlib.sha256).digest()
    return weak_random.Random(digest)  # noqa: S311 - disguise, not a secret


# --- pictograms ------------------------------------------------------------------------


@cache
def _pictogram_body(slug: str) -> str:
    text = resources.files(__package__).joinpath(f"assets/pictogrammes/{slug}.svg").read_text()
    found = _SVG_BODY.search(text)
    if found is None:
        raise ValueError(f"{slug}.svg is not an SVG")
    return found.group(1).strip()


def _colour(rng: weak_random.Random, lightness: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(rng.random(), lightness, rng.uniform(0.5, 0.9))
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


@cache
def _shapes(slug: str) -> tuple[list[Command], ...]:
    return tuple(shapes(_pictogram_body(slug)))


def _redrawn(slug: str, rng: weak_random.Random) -> bytes:
    """The pictogram, redrawn for this challenge (:mod:`.drawing`: every coordinate
    moved, so no path of the Lucide file survives). Dark strokes on a pale tint keep a
    contrast well above 3:1 (RGAA 3.3, non-text contrast)."""
    ink = _colour(rng, rng.uniform(0.18, 0.30))
    tint = _colour(rng, rng.uniform(0.94, 0.98))
    move = Similarity(
        rng,
        angle=rng.uniform(-28, 28),
        scale=rng.uniform(0.72, 0.92),
        shift=(rng.uniform(-1.2, 1.2), rng.uniform(-1.2, 1.2)),
        jitter=0.12,
    )
    width = rng.uniform(1.6, 2.4)
    drawn = [f'<path d="{redrawn_path(shape, move)}"/>' for shape in _shapes(slug)]
    rng.shuffle(drawn)
    noise = "".join(
        f'<line x1="{rng.uniform(0, 24):.2f}" y1="{rng.uniform(0, 24):.2f}" '
        f'x2="{rng.uniform(0, 24):.2f}" y2="{rng.uniform(0, 24):.2f}" '
        f'stroke="{_colour(rng, 0.8)}" stroke-width="{rng.uniform(0.2, 0.5):.2f}"/>'
        for _ in range(rng.randint(3, 6))
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 24 24">'
        f'<rect width="24" height="24" fill="{tint}"/>{noise}'
        f'<g fill="none" stroke="{ink}" stroke-width="{width:.2f}" '
        f'stroke-linecap="round" stroke-linejoin="round">{"".join(drawn)}</g></svg>'
    )
    return svg.encode("utf-8")


# --- the sound version ----------------------------------------------------------------


@cache
def _spoken_samples(slug: str) -> bytes:
    """The word as espeak-ng said it (tools/build_captcha_assets.py): 16 kHz 8-bit."""
    data = resources.files(__package__).joinpath(f"assets/sons/{slug}.wav").read_bytes()
    with wave.open(io.BytesIO(data), "rb") as source:
        shape = (source.getnchannels(), source.getsampwidth(), source.getframerate())
        if shape != (1, 1, _RATE):
            raise ValueError(f"{slug}.wav is not 16 kHz mono 8-bit")
        frames: bytes = source.readframes(source.getnframes())
    return frames


def _altered_sound(slug: str, rng: weak_random.Random) -> bytes:
    """The word, altered for this challenge: a different lead-in, pace, loudness and
    hiss each time, still plainly understandable."""
    samples = _spoken_samples(slug)
    pace = rng.uniform(0.93, 1.07)
    gain = rng.uniform(0.75, 1.0)
    hiss = rng.uniform(1.0, 3.0)
    out = bytearray([128] * int(_RATE * rng.uniform(0.15, 0.45)))
    last = len(samples) - 1
    position = 0.0
    while position < last:
        left = int(position)
        value = samples[left] + (samples[left + 1] - samples[left]) * (position - left)
        centred = (value - 128) * gain + rng.uniform(-hiss, hiss)
        out.append(max(0, min(255, round(centred) + 128)))
        position += pace
    out.extend([128] * int(_RATE * rng.uniform(0.1, 0.3)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(1)
        target.setframerate(_RATE)
        target.writeframes(bytes(out))
    return buffer.getvalue()
