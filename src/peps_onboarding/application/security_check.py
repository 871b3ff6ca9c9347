"""The security check of classic step 1 (rule C1), and its sound version (W4): what a
screen asks the captcha port for before it shows the form. Its answer is checked by
:func:`.classic.identify_establishment`, before any lookup."""

from __future__ import annotations

from ..ports import ChallengeMedia, SecurityChallenge
from .dependencies import Dependencies
from .throttling import admit, source

__all__ = ["challenge_media", "new_challenge"]


def new_challenge(deps: Dependencies, client: str | None = None) -> SecurityChallenge:
    """Rules C1, P1: a new challenge; « Renouveler le contrôle de sécurité » asks another.
    Limited per source, since each one takes a place in the check's bounded store."""
    limits = deps.policy.rate_limits
    admit(deps, source(deps, limits.security_check_per_source, "security_check", client))
    return deps.captcha.challenge()


def challenge_media(deps: Dependencies, challenge_id: str, part: str) -> ChallengeMedia | None:
    """Rules C1, W4: one image of a challenge, or its sound version (``part="son"``);
    ``None`` when the challenge or the part is unknown, expired or used."""
    if not isinstance(challenge_id, str) or not isinstance(part, str):
        return None
    return deps.captcha.media(challenge_id[:256], part[:256])
