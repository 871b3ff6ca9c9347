"""Rule A3: the password rules, each reported on its own so a screen can list them."""

from __future__ import annotations

import enum

from attrs import frozen

__all__ = ["PASSWORD_OK_MESSAGE", "PasswordCheck", "PasswordRule", "check_password"]

PASSWORD_OK_MESSAGE = "Votre mot de passe respecte toutes les règles de sécurité."
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


@frozen
class PasswordCheck:
    unmet: tuple[PasswordRule, ...]

    @property
    def ok(self) -> bool:
        return not self.unmet

    @property
    def message(self) -> str:
        if self.ok:
            return PASSWORD_OK_MESSAGE
        return "Votre mot de passe doit être composé au minimum de : " + ", ".join(
            rule.label for rule in self.unmet
        )


def check_password(password: str, confirmation: str | None = None) -> PasswordCheck:
    """Every unmet rule of A3; ``confirmation`` is checked when given."""
    unmet: list[PasswordRule] = []
    if len(password) < 8:
        unmet.append(PasswordRule.MIN_LENGTH)
    if not any(c.isdigit() for c in password):
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
