"""Value objects: parsed once at the boundary, then trusted everywhere.

Each ``parse`` takes what a person typed and either returns the value or raises
:class:`InvalidFieldError` with a French message; form parsers gather those into one
:class:`~peps_onboarding.domain.errors.ValidationError`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import Final, Self

import email_validator
import phonenumbers
from attrs import frozen
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import siret as stdnum_siret

from .errors import FieldError

__all__ = [
    "ADDRESS_LINE_MAX_LENGTH",
    "CITY_MAX_LENGTH",
    "Civility",
    "ContractNumber",
    "EmailAddress",
    "FixedPhone",
    "Identifier",
    "InvalidFieldError",
    "LegalCategory",
    "PersonName",
    "PostalAddress",
    "PostalCode",
    "Siret",
    "TextLine",
    "parse_city",
]


class InvalidFieldError(ValueError):
    """One value did not parse; ``error`` carries the code and the French message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.error = FieldError(code, message)


# Rule E1: a digit is one of the ASCII digits. ``str.isdigit``, ``int()`` and ``\d`` in
# ``re`` also take the digits of other scripts (« ３３０００ », « ٣٣٠٠٠ ») and ``int()``
# would store them as ASCII: every numeric pattern below spells ``[0-9]``.
_ASCII_DIGITS: Final = frozenset("0123456789")


def _ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits, and nothing else (rule E1)."""
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


def _refuse_foreign_digits(text: str, code: str, message: str) -> None:
    """Rule E1: a digit of another script (fullwidth « ３ », Arabic-Indic « ٣ », the
    superscript « ³ »…) gets its own message, so the person knows what to retype."""
    if any(c.isdigit() and c not in _ASCII_DIGITS for c in text):
        raise InvalidFieldError(code, message)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
# Form input is bounded before any parsing, so hostile sizes cost nothing.
_MAX_RAW = 512


def _clean(raw: object, *, required: bool = True) -> str:
    if not isinstance(raw, str):
        raise InvalidFieldError("type", "Ce champ doit être un texte.")
    if len(raw) > _MAX_RAW:
        raise InvalidFieldError("too_long", "Ce champ est trop long.")
    text = unicodedata.normalize("NFC", raw).strip()
    if _CONTROL.search(text):
        raise InvalidFieldError(
            "control_characters", "Ce champ contient des caractères non autorisés."
        )
    if required and not text:
        raise InvalidFieldError("required", "Ce champ est obligatoire.")
    return " ".join(text.split())


_LA_POSTE_SIREN = "356000000"  # its establishments' SIRETs have no Luhn key
# Luhn two digits at a time: the first of a pair doubled (its digits summed), plus the
# second. Two dict lookups per pair beat converting digit by digit.
_LUHN_PAIRS = {f"{a}{b}": (2 * a if a < 5 else 2 * a - 9) + b for a in range(10) for b in range(10)}
_LUHN_DIGITS = {str(d): d for d in range(10)}


def _siret_keys_ok(digits: str) -> bool:
    """Both Luhn keys of 14 ASCII digits, the SIRET's and its SIREN's (python-stdnum's
    ``luhn.is_valid`` twice, at a fifth of its cost: every form and every imported
    row checks them). From the right every second digit is doubled: those at even
    indices of the SIRET, at odd indices of the SIREN."""
    pairs = _LUHN_PAIRS
    siret = (
        pairs[digits[0:2]]
        + pairs[digits[2:4]]
        + pairs[digits[4:6]]
        + pairs[digits[6:8]]
        + pairs[digits[8:10]]
        + pairs[digits[10:12]]
        + pairs[digits[12:14]]
    )
    siren = (
        _LUHN_DIGITS[digits[0]]
        + pairs[digits[1:3]]
        + pairs[digits[3:5]]
        + pairs[digits[5:7]]
        + pairs[digits[7:9]]
    )
    return siret % 10 == 0 and siren % 10 == 0


@frozen
class Siret:
    """Rule E1: 14 digits with a valid key; La Poste's exception is python-stdnum's."""

    value: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw)
        compact = text.replace(" ", "").replace(".", "")
        _refuse_foreign_digits(
            compact, "siret.digits", "Le SIRET doit être composé de 14 chiffres de 0 à 9."
        )
        if not _ascii_digits(compact):
            raise InvalidFieldError("siret.format", "Le SIRET doit être composé de 14 chiffres.")
        if len(compact) != 14:
            raise InvalidFieldError("siret.length", "Le SIRET doit être composé de 14 chiffres.")
        if set(compact) == {"0"}:
            raise InvalidFieldError("siret.checksum", "Ce numéro SIRET n'est pas valide.")
        # Both keys right and not La Poste: exactly what python-stdnum accepts. Anything
        # else is python-stdnum's to decide (La Poste's exception, the refusals).
        if not compact.startswith(_LA_POSTE_SIREN) and _siret_keys_ok(compact):
            return cls(compact)
        try:
            stdnum_siret.validate(compact)
        except StdnumValidationError:
            raise InvalidFieldError("siret.checksum", "Ce numéro SIRET n'est pas valide.") from None
        return cls(compact)

    @property
    def siren(self) -> str:
        return self.value[:9]

    def __str__(self) -> str:
        return self.value

    @property
    def formatted(self) -> str:
        """``180 020 026 00019``, as the screens print it."""
        v = self.value
        return f"{v[:3]} {v[3:6]} {v[6:9]} {v[9:]}"


_CONTRACT = re.compile(r"^[A-Z0-9][A-Z0-9/-]{0,29}$")


@frozen
class ContractNumber:
    """Rule E2: a fund contract number (immatriculation / adhésion), case-insensitive."""

    value: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw).replace(" ", "")
        _refuse_foreign_digits(
            text,
            "contract.digits",
            "Le numéro de contrat ne doit contenir que des lettres et des chiffres de 0 à 9.",
        )
        # ASCII before capitals: ``upper()`` turns « ﬁ » into « FI » and « ı » into « I »,
        # which would store letters and digits the person never typed (rule E1).
        if not text.isascii() or not _CONTRACT.fullmatch(text.upper()):
            raise InvalidFieldError(
                "contract.format",
                "Le numéro de contrat ne doit contenir que des lettres et des chiffres.",
            )
        return cls(text.upper())

    def __str__(self) -> str:
        return self.value


_LEGAL_CATEGORY = re.compile(r"[0-9]{4}")


@frozen
class LegalCategory:
    """INSEE legal-form code, 4 digits (7210 commune, 7364 établissement d'hospitalisation)."""

    code: str

    def __attrs_post_init__(self) -> None:
        if not _LEGAL_CATEGORY.fullmatch(self.code):
            raise InvalidFieldError("legal_category.format", "La catégorie juridique a 4 chiffres.")

    def __str__(self) -> str:
        return self.code


_IDENTIFIER = re.compile(r"[A-Z]{3}[0-9]{6}")
# Letters NFKD does not decompose, folded as French (and neighbours) spell them.
_LIGATURES = str.maketrans(
    {"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l"}
)


@frozen
class Identifier:
    """Rule A1: 3 capital letters then 6 digits, e.g. ``JDA000001``."""

    value: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw)
        # ASCII before capitals, as for contract numbers (rule E1).
        text = text.upper() if text.isascii() else text
        if not _IDENTIFIER.fullmatch(text):
            raise InvalidFieldError(
                "identifier.format",
                "L'identifiant est composé de 3 lettres et 6 chiffres (ex. : JDA000001).",
            )
        return cls(text)

    @staticmethod
    def prefix_for(first_name: str, last_name: str) -> str:
        """Rule A1: letters from the holder's names, accents folded, other characters dropped.

        The first letter of the first name, then the first two of the last name
        (Jean Dupont → ``JDU``); padded with ``X`` when the names are too short.
        """

        def letters(name: str) -> str:
            folded = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
            return "".join(c for c in folded if "A" <= c.upper() <= "Z" and c.isascii()).upper()

        first, last = letters(first_name), letters(last_name)
        return ((first[:1] or "X") + last[:2]).ljust(3, "X")

    @classmethod
    def build(cls, prefix: str, number: int) -> Self:
        if not (0 < number <= 999_999):
            raise ValueError("identifier numbers run from 1 to 999999")
        return cls(f"{prefix}{number:06d}")

    @property
    def spelled(self) -> str:
        """The identifier read aloud, character by character (C5: « lisible à voix haute »)."""
        digits = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"]
        return ", ".join(c if c.isalpha() else digits[int(c)] for c in self.value)

    def __str__(self) -> str:
        return self.value


_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*\.?$")


@frozen
class PersonName:
    """A nom or prénom: letters, with spaces, hyphens, apostrophes and dots between them."""

    value: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw)
        if len(text) > 64:
            raise InvalidFieldError("name.too_long", "Ce champ ne doit pas dépasser 64 caractères.")
        if not _NAME.fullmatch(text):
            raise InvalidFieldError(
                "name.format",
                "Ce champ ne doit contenir que des lettres, espaces, tirets ou apostrophes.",
            )
        return cls(text)

    def matches(self, other: PersonName) -> bool:
        """Same name, ignoring case and accents (used to recover an identifier, A6)."""
        return _fold(self.value) == _fold(other.value)

    def __str__(self) -> str:
        return self.value


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_FREE_TEXT_FORBIDDEN = re.compile(r"[<>{}\[\]\\|`$^~=;*\"@]")

# Rule C4: every real French address is accepted as typed, and huge text is not.
#: Numéro et libellé de la voie, compléments, lieu-dit: 100 characters. Real street
#: lines pass 38 characters every day (« 12 avenue du Maréchal de Lattre de Tassigny »
#: has 43); 100 leaves room for the longest dedications, a « bis » and a voie type
#: written in full, and still bounds what a hostile form can make us store.
ADDRESS_LINE_MAX_LENGTH: Final = 100
#: Ville: 60 characters. The longest commune name has 45
#: (« Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson »); a « Cedex 16 » after it fits.
CITY_MAX_LENGTH: Final = 60


@frozen
class TextLine:
    """A free-text line (service, address line): printable, bounded, no markup characters.

    Rule C4: an address line is taken as typed, up to :data:`ADDRESS_LINE_MAX_LENGTH`
    characters (the default). The postal standard's 38 characters are the letter's
    concern, met by :func:`peps_onboarding.domain.postal.address_block` when it lays
    the address out, never by refusing a real address here.
    """

    value: str

    @classmethod
    def parse(cls, raw: object, *, max_length: int = ADDRESS_LINE_MAX_LENGTH) -> Self:
        text = _clean(raw)
        if len(text) > max_length:
            raise InvalidFieldError(
                "text.too_long", f"Ce champ ne doit pas dépasser {max_length} caractères."
            )
        if _FREE_TEXT_FORBIDDEN.search(text) or not all(c.isprintable() for c in text):
            raise InvalidFieldError(
                "text.format", "Ce champ contient des caractères non autorisés."
            )
        return cls(text)

    @classmethod
    def parse_optional(
        cls, raw: object, *, max_length: int = ADDRESS_LINE_MAX_LENGTH
    ) -> Self | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return cls.parse(raw, max_length=max_length)

    def __str__(self) -> str:
        return self.value


def parse_city(raw: object) -> TextLine:
    """Rule C4: the ville, as typed, up to :data:`CITY_MAX_LENGTH` characters and with
    at least one letter (a commune has a name; digits alone are no town)."""
    city = TextLine.parse(raw, max_length=CITY_MAX_LENGTH)
    if not any(c.isalpha() for c in city.value):
        raise InvalidFieldError(
            "city.format", "Le nom de la ville doit contenir des lettres (ex. : Bordeaux)."
        )
    return city


@frozen
class EmailAddress:
    """A courriel, checked for syntax only (no DNS) by email-validator."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, test_environment: bool = False, smtputf8: bool = True) -> Self:
        """``smtputf8=False`` (a relay without SMTPUTF8, ``Policy.smtputf8_relay``) refuses
        an address whose part before « @ » is not ASCII: no such relay can deliver it. A
        domain name with accents is still accepted: it travels as IDNA (``xn--…``), see
        :attr:`ascii_form`."""
        text = _clean(raw)
        if len(text) > 254:
            raise InvalidFieldError("email.too_long", "L'adresse de courriel est trop longue.")
        try:
            valid = email_validator.validate_email(
                text, check_deliverability=False, test_environment=test_environment
            )
        except email_validator.EmailNotValidError:
            raise InvalidFieldError(
                "email.format", "L'adresse de courriel n'est pas valide (ex. : nom@employeur.fr)."
            ) from None
        if valid.smtputf8 and not smtputf8:
            raise InvalidFieldError(
                "email.not_deliverable",
                "Nous ne pouvons pas envoyer de courriel à cette adresse : la partie avant "
                "« @ » ne doit contenir ni accent ni caractère non latin "
                "(ex. : jerome.durand@employeur.fr).",
            )
        return cls(valid.normalized)

    @property
    def ascii_form(self) -> str | None:
        """The address as a relay without SMTPUTF8 takes it: the domain in IDNA
        (``jean@xn--exmple-cva.fr`` for ``jean@exémple.fr``); ``None`` when the part
        before « @ » is not ASCII, which only an SMTPUTF8 relay can deliver."""
        local, _, domain = self.value.rpartition("@")
        if not local.isascii():
            return None
        if domain.isascii():
            return self.value
        try:
            valid = email_validator.validate_email(
                self.value, check_deliverability=False, test_environment=True
            )
        except email_validator.EmailNotValidError:
            return None
        return valid.ascii_email

    def same_as(self, other: EmailAddress) -> bool:
        return self.value.casefold() == other.value.casefold()

    def __str__(self) -> str:
        return self.value


# ASCII digits only (rule E1): phonenumbers itself reads fullwidth and Arabic-Indic
# digits as ASCII ones, so this shape is checked before it ever sees the number.
_PHONE_SHAPE = re.compile(r"(?:\+33|0033|0)[1-9][0-9]{8}")
_ACCEPTED_PHONE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)
# Overseas departments are dialled as 10-digit national numbers from mainland France
# but phonenumbers files some of them under their own region: try each.
_FRENCH_REGIONS = ("FR", "GP", "GF", "RE", "MQ", "YT", "PM")


def _is_fixed_line(national: str, region: str) -> bool:
    number = phonenumbers.parse(national, region)
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in _ACCEPTED_PHONE_TYPES
    )


@frozen
class FixedPhone:
    """Rule C4: a French fixed line (01–05, 09, overseas geographic); no mobile, no 08."""

    digits: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw)
        compact = re.sub(r"[ .\-]", "", text)
        _refuse_foreign_digits(
            compact,
            "phone.digits",
            "Le numéro de téléphone fixe doit comporter 10 chiffres de 0 à 9.",
        )
        if compact.startswith("+33(0)"):
            compact = "+33" + compact[6:]
        # phonenumbers is lenient with trailing junk: check the shape first.
        if not _PHONE_SHAPE.fullmatch(compact):
            raise InvalidFieldError(
                "phone.format", "Le numéro de téléphone fixe doit comporter 10 chiffres."
            )
        national = "0" + compact[-9:]
        if national[1] in "678":
            raise InvalidFieldError(
                "phone.not_fixed",
                "Veuillez saisir un numéro de téléphone fixe (les numéros en 06, 07 et 08 ne "
                "sont pas acceptés).",
            )
        if not any(_is_fixed_line(national, region) for region in _FRENCH_REGIONS):
            raise InvalidFieldError(
                "phone.invalid", "Ce numéro de téléphone fixe n'est pas valide."
            )
        return cls(national)

    @property
    def national(self) -> str:
        """``05 56 11 41 23``."""
        return " ".join(self.digits[i : i + 2] for i in range(0, 10, 2))

    def __str__(self) -> str:
        return self.national


_POSTAL_CODE = re.compile(r"[0-9]{5}")


@frozen
class PostalCode:
    """Rules C4 and E1: exactly 5 ASCII digits (``33000``; « 33 000 » is taken too).

    No French code postal starts with 00; Corsica's are 20xxx (« 2A » is the
    département's code, never a postal code's)."""

    value: str

    @classmethod
    def parse(cls, raw: object) -> Self:
        text = _clean(raw).replace(" ", "")
        _refuse_foreign_digits(
            text, "postal_code.digits", "Le code postal doit comporter 5 chiffres de 0 à 9."
        )
        if not _POSTAL_CODE.fullmatch(text) or text.startswith("00"):
            raise InvalidFieldError(
                "postal_code.format", "Le code postal doit comporter 5 chiffres."
            )
        return cls(text)

    def __str__(self) -> str:
        return self.value


class Civility(enum.Enum):
    MR = "Monsieur"
    MRS = "Madame"

    @classmethod
    def parse(cls, raw: object) -> Civility:
        text = _clean(raw).casefold()
        for member in cls:
            if text in {member.value.casefold(), member.name.casefold()}:
                return member
        raise InvalidFieldError("civility.choice", "Veuillez choisir « Monsieur » ou « Madame ».")

    @property
    def label(self) -> str:
        return self.value


@frozen(kw_only=True)
class PostalAddress:
    """The professional address of C4 (also the legal representative's, for letters)."""

    street: TextLine
    postal_code: PostalCode
    city: TextLine
    address_complement: TextLine | None = None
    identification_complement: TextLine | None = None
    locality: TextLine | None = None

    def lines(self) -> tuple[str, ...]:
        """The address alone as printed on an envelope, to NF Z10-011 (rule C4): optional
        lines left out, at most 38 characters a line, the last « CODE POSTAL VILLE ».

        A letter prints the recipient above it: use
        :func:`peps_onboarding.domain.postal.address_block`, which fits both in six lines.
        """
        from .postal import address_block  # postal builds on this module

        return address_block((), self)
