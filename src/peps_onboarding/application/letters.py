"""The letter to the legal representative (M2), as plain text: the copy a
:class:`~peps_onboarding.ports.LetterSender` that does not lay out its own prints or
shows (``Letter.text``).

Its words are :func:`~peps_onboarding.domain.letter_wording.letter_wording`'s, the
same the PDF adapter lays out: the salutation, the withdrawal date (« jusqu’au
JJ/MM/AAAA inclus ») and every sentence read the same on paper and here.
"""

from __future__ import annotations

from ..domain.letter_wording import letter_wording
from ..domain.notifications import Letter, LetterNotification
from .rendering import PARIS

__all__ = ["letter_text"]


def letter_text(
    n: LetterNotification | Letter,
    *,
    withdrawal_url: str | None,
    withdrawal_code: str | None = None,
) -> str:
    """Rule M2: who registered, when, and (classic path) how to withdraw within 8 days.

    The window block first (NF Z10-011, C4), then the body. The withdrawal URL and the
    code each stand alone on their line (P4): nothing that wraps the text cuts them.
    """
    wording = letter_wording(
        n, withdrawal_url=withdrawal_url, withdrawal_code=withdrawal_code, zone=PARIS
    )
    lines = [*n.recipient_address, "", wording.subject, "", wording.salutation, ""]
    lines += [wording.opening, *(f"  {label} : {value}" for label, value in wording.facts)]
    if wording.withdrawal is not None:
        steps = wording.withdrawal
        lines += ["", steps.intro]
        if steps.url:
            lines += [f"- {steps.url_step}", f"  {steps.url}"]
        if steps.code:
            lines += [f"- {steps.code_step}", f"  {steps.code}", "", steps.confidentiality]
        lines += ["", steps.otherwise]
    if wording.information is not None:
        lines += ["", wording.information]
    lines += ["", wording.closing]
    return "\n".join(lines)
