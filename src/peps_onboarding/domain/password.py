"""Rule A3: the password rules, each reported on its own so a screen can list them."""

from __future__ import annotations

import enum

from attrs import frozen

__all__ = [
    "CONFIRMATION_MISMATCH_MESSAGE",
    "PASSWORD_OK_MESSAGE",
    "PasswordCheck",
    "PasswordRule",
    "check_password",
]

PASSWORD_OK_MESSAGE = "Votre mot de passe respecte toutes les règles de sécurité."
CONFIRMATION_MISMATCH_MESSAGE = "La confirmation ne correspond pas au mot de passe saisi."
_COMPOSITION_INTRO = "Votre mot de passe doit être composé au minimum de : "
_MAX_LENGTH = 128  # bounds the hashing cost of hostile input


class PasswordRule(enum.Enum):
    MIN_LENGTH = "8 caractères"
    DIGIT = "1 chiffre"
    LOWER = "1 minuscule"
    UPPER = "1 majuscule"
    SPECIAL = "1 caractère spécial"
    MAX_LENGTH = "128 caractères au plus"
    NO_CONTROL = "aucun caractère de contrôle"
    CONFIRMATION = "la confirmation est identique au mot de passe"

    @property
    def label(self) -> str:
        return self.value

    @property
    def is_composition(self) -> bool:
        """One of the seed's « composé au minimum de : » list (8 caractères, 1 chiffre…)."""
        return self in _COMPOSITION


_COMPOSITION = (
    PasswordRule.MIN_LENGTH,
    PasswordRule.DIGIT,
    PasswordRule.LOWER,
    PasswordRule.UPPER,
    PasswordRule.SPECIAL,
)
# The rules that are not « au minimum de » each get a sentence of their own.
_SENTENCES = {
    PasswordRule.MAX_LENGTH: "Votre mot de passe doit comporter 128 caractères au plus.",
    PasswordRule.NO_CONTROL: "Votre mot de passe ne doit contenir aucun caractère de contrôle.",
    PasswordRule.CONFIRMATION: CONFIRMATION_MISMATCH_MESSAGE,
}


@frozen
class PasswordCheck:
    unmet: tuple[PasswordRule, ...]

    @property
    def ok(self) -> bool:
        return not self.unmet

    @property
    def password_message(self) -> str:
        """What the password field shows (A3), the confirmation aside: the seed's
        « composé au minimum de : » list holds only the composition rules, and a password
        that breaks none is told « Votre mot de passe respecte toutes les règles de
        sécurité. »"""
        sentences = []
        composition = [rule.label for rule in self.unmet if rule.is_composition]
        if composition:
            sentences.append(_COMPOSITION_INTRO + ", ".join(composition) + ".")
        sentences += [
            _SENTENCES[rule]
            for rule in self.unmet
            if not rule.is_composition and rule is not PasswordRule.CONFIRMATION
        ]
        return " ".join(sentences) or PASSWORD_OK_MESSAGE

    @property
    def confirmation_message(self) -> str | None:
        """What the confirmation field shows when it differs from the password, else ``None``."""
        return CONFIRMATION_MISMATCH_MESSAGE if PasswordRule.CONFIRMATION in self.unmet else None

    @property
    def message(self) -> str:
        """Rule A3: « Votre mot de passe respecte toutes les règles de sécurité. » when all
        hold, else each unmet rule in a sentence that reads, the confirmation's last."""
        return " ".join(m for m in (self.password_message, self.confirmation_message) if m)


def check_password(password: str, confirmation: str | None = None) -> PasswordCheck:
    """Every unmet rule of A3; ``confirmation`` is checked when given."""
    unmet: list[PasswordRule] = []
    if len(password) < 8:
        unmet.append(PasswordRule.MIN_LENGTH)
    if not any("0" <= c <= "9" for c in password):  # E1: a digit is 0-9
        unmet.append(PasswordRule.DIGIT)
    if not any(c.islower() for c in password):
        unmet.append(PasswordRule.LOWER)
    if not any(c.isupper() for c in password):
        unmet.append(PasswordRule.UPPER)
    if not any(not c.isalnum() and not c.isspace() and c.isprintable() for c in password):
        unmet.append(PasswordRule.SPECIAL)
    if len(password) > _MAX_LENGTH:
        unmet.append(PasswordRule.MAX_LENGTH)
    if any(not c.isprintable() for c in password):
        unmet.append(PasswordRule.NO_CONTROL)
    if confirmation is not None and confirmation != password:
        unmet.append(PasswordRule.CONFIRMATION)
    return PasswordCheck(tuple(unmet))
