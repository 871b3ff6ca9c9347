"""Builds the image-choice security check's assets (rule C1, and W4's sound version).

Run it again when :data:`peps_onboarding.adapters.captcha.vocabulary.OBJECTS` changes:

    npm pack lucide-static && tar xzf lucide-static-*.tgz        # ./package/icons/*.svg
    apt-get install -y espeak-ng
    .venv/bin/python tools/build_captcha_assets.py package

It copies each object's Lucide pictogram (ISC licence, its header kept) into
``adapters/captcha/assets/pictogrammes/`` and speaks each object's French name with
espeak-ng (a GPL program; the sound it produces is not covered by its licence) into
``adapters/captcha/assets/sons/``: 16 kHz, mono, 8-bit PCM, silence trimmed, a few KB
each, which Python's ``wave`` module reads back. The files are committed as package data,
so neither npm nor espeak-ng is needed at run time.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import wave
from array import array
from pathlib import Path

from peps_onboarding.adapters.captcha.vocabulary import OBJECTS

ASSETS = Path(__file__).resolve().parent.parent / "src/peps_onboarding/adapters/captcha/assets"
RATE = 16_000
# Below this amplitude (of 32767) a sample counts as silence when trimming the ends.
SILENCE = 400
# Kept around the word, so that a player does not clip its first consonant.
MARGIN = 0.05


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Builds the image-choice security check's pictograms and sounds."
    )
    parser.add_argument("lucide", type=Path, help="the unpacked lucide-static package")
    parser.add_argument("--voice", default="fr-fr", help="espeak-ng voice (default: fr-fr)")
    parser.add_argument("--speed", type=int, default=130, help="words per minute (130)")
    args = parser.parse_args(argv)
    icons = args.lucide / "icons"
    if not icons.is_dir():
        parser.error(f"{icons} is not a folder: give the unpacked lucide-static package")
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        parser.error("espeak-ng is not installed (apt-get install -y espeak-ng)")
    (ASSETS / "pictogrammes").mkdir(parents=True, exist_ok=True)
    (ASSETS / "sons").mkdir(parents=True, exist_ok=True)
    for item in OBJECTS:
        shutil.copyfile(icons / f"{item.lucide}.svg", ASSETS / "pictogrammes" / f"{item.slug}.svg")
        spoken = subprocess.run(  # noqa: S603 - a fixed program, our own word list
            [espeak, "-v", args.voice, "-s", str(args.speed), "--stdout", item.spoken],
            check=True,
            capture_output=True,
        ).stdout
        target = ASSETS / "sons" / f"{item.slug}.wav"
        target.write_bytes(_small_wav(spoken))
        print(f"{item.slug}: {target.stat().st_size} octets", file=sys.stderr)
    return 0


def _small_wav(data: bytes) -> bytes:
    """espeak-ng's 22 050 Hz 16-bit WAV as 16 kHz 8-bit, its silent ends trimmed."""
    with wave.open(io.BytesIO(data)) as source:
        if source.getnchannels() != 1 or source.getsampwidth() != 2:
            raise SystemExit("espeak-ng was expected to speak 16-bit mono")
        rate = source.getframerate()
        samples = array("h", source.readframes(source.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    loud = [index for index, value in enumerate(samples) if abs(value) > SILENCE]
    if loud:
        margin = int(MARGIN * rate)
        samples = samples[max(0, loud[0] - margin) : loud[-1] + margin]
    # Linear interpolation is enough for speech going down to 16 kHz (below espeak's
    # 22 kHz there is little above 8 kHz to alias).
    count = len(samples) * RATE // rate
    resampled = bytearray()
    for index in range(count):
        position = index * rate / RATE
        left = int(position)
        right = min(left + 1, len(samples) - 1)
        value = samples[left] + (samples[right] - samples[left]) * (position - left)
        resampled.append(max(0, min(255, round(value / 256) + 128)))  # 8-bit is unsigned
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(1)
        target.setframerate(RATE)
        target.writeframes(bytes(resampled))
    return out.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
