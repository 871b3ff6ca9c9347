"""Parsing of forms into domain values, every field error gathered at once (rule C4).

Field names in errors are the screen's, in French snake case (``courriel``,
``code_postal``…), so a host can put each message under its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..domain.account import Holder
from ..domain.errors import FieldError, ValidationError
from ..domain.values import (
    Civility,
    EmailAddress,
    FixedPhone,
    InvalidFieldError,
    PersonName,
    PostalAddress,
    PostalCode,
    TextLine,
    parse_city,
)
from .commands import AddressForm, HolderForm, NetEntreprisesForm

__all__ = ["FormParser", "parse_holder", "parse_net_entreprises_holder"]

T = TypeVar("T")

EMAIL_MISMATCH = FieldError(
    "email.confirmation", "La confirmation du courriel doit être identique au courriel."
)
TERMS_REQUIRED = FieldError(
    "terms.required", "Vous devez accepter les Conditions Générales d'Utilisation."
)


class FormParser:
    """Collects field errors; ``done()`` raises one ValidationError holding them all."""

    def __init__(self) -> None:
        self.errors: dict[str, FieldError] = {}

    def field(self, name: str, parse: Callable[[object], T], raw: object) -> T | None:
        try:
            return parse(raw)
        except InvalidFieldError as invalid:
            self.errors.setdefault(name, invalid.error)
            return None

    def fail(self, name: str, error: FieldError) -> None:
        self.errors.setdefault(name, error)

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _address(form: FormParser, raw: AddressForm) -> PostalAddress | None:
    """Rule C4: the address as typed, every real one accepted (lines up to
    ``ADDRESS_LINE_MAX_LENGTH``, the ville up to ``CITY_MAX_LENGTH`` characters); the
    letter fits it to the postal standard (``domain.postal``), never this form."""
    street = form.field("voie", TextLine.parse, raw.street)
    postal_code = form.field("code_postal", PostalCode.parse, raw.postal_code)
    city = form.field("ville", parse_city, raw.city)
    address_complement = form.field(
        "complement_adresse", TextLine.parse_optional, raw.address_complement
    )
    identification_complement = form.field(
        "complement_identification", TextLine.parse_optional, raw.identification_complement
    )
    locality = form.field("lieu_dit", TextLine.parse_optional, raw.locality)
    if street is None or postal_code is None or city is None:
        return None
    return PostalAddress(
        street=street,
        postal_code=postal_code,
        city=city,
        address_complement=address_complement,
        identification_complement=identification_complement,
        locality=locality,
    )


def _service_function(raw: object) -> TextLine:
    return TextLine.parse(raw, max_length=100)


def _contact(
    form: FormParser,
    *,
    civility_raw: str,
    email_raw: str,
    confirmation_raw: str,
    phone_raw: str,
    service_raw: str,
    address_raw: AddressForm,
    test_emails: bool,
    smtputf8: bool,
) -> tuple[
    Civility | None, EmailAddress | None, FixedPhone | None, TextLine | None, PostalAddress | None
]:
    civility = form.field("civilite", Civility.parse, civility_raw)

    def parse_email(raw: object) -> EmailAddress:
        return EmailAddress.parse(raw, test_environment=test_emails, smtputf8=smtputf8)

    email = form.field("courriel", parse_email, email_raw)
    confirmation = form.field("confirmation_courriel", parse_email, confirmation_raw)
    if confirmation is not None and (
        not email.same_as(confirmation)
        if email is not None
        else str(email_raw).strip().casefold() != str(confirmation_raw).strip().casefold()
    ):
        form.fail("confirmation_courriel", EMAIL_MISMATCH)
    phone = form.field("telephone", FixedPhone.parse, phone_raw)
    service = form.field("service_fonction", _service_function, service_raw)
    address = _address(form, address_raw)
    return civility, email, phone, service, address


def parse_holder(
    form: FormParser, raw: HolderForm, *, test_emails: bool = False, smtputf8: bool = False
) -> Holder | None:
    """Rule C4: the holder of a new account, or None with the errors recorded in ``form``.

    ``smtputf8`` is ``Policy.smtputf8_relay``: without it, an address the relay cannot
    deliver (not ASCII before « @ ») is a field error on ``courriel``."""
    last_name = form.field("nom", PersonName.parse, raw.last_name)
    first_name = form.field("prenom", PersonName.parse, raw.first_name)
    civility, email, phone, service, address = _contact(
        form,
        civility_raw=raw.civility,
        email_raw=raw.email,
        confirmation_raw=raw.email_confirmation,
        phone_raw=raw.phone,
        service_raw=raw.service_function,
        address_raw=raw.address,
        test_emails=test_emails,
        smtputf8=smtputf8,
    )
    if form.errors:
        return None
    assert civility and last_name and first_name and email and phone and service and address
    return Holder(
        civility=civility,
        last_name=last_name,
        first_name=first_name,
        email=email,
        phone=phone,
        service_function=service,
        address=address,
    )


def parse_net_entreprises_holder(
    form: FormParser,
    raw: NetEntreprisesForm,
    *,
    last_name: PersonName,
    first_name: PersonName,
    test_emails: bool = False,
    smtputf8: bool = False,
) -> Holder | None:
    """Rules N3, N4: nom and prénom come from the Net-Entreprises sign-in."""
    civility, email, phone, service, address = _contact(
        form,
        civility_raw=raw.civility,
        email_raw=raw.email,
        confirmation_raw=raw.email_confirmation,
        phone_raw=raw.phone,
        service_raw=raw.service_function,
        address_raw=raw.address,
        test_emails=test_emails,
        smtputf8=smtputf8,
    )
    if raw.terms_accepted is not True:
        form.fail("cgu", TERMS_REQUIRED)
    if form.errors:
        return None
    assert civility and email and phone and service and address
    return Holder(
        civility=civility,
        last_name=last_name,
        first_name=first_name,
        email=email,
        phone=phone,
        service_function=service,
        address=address,
    )
