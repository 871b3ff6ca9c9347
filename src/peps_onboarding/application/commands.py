"""Typed inputs of the use cases: what a person typed, as plain strings.

Nothing here is trusted yet; each use case parses its command into domain values and
reports every wrong field at once (rule C4).
"""

from __future__ import annotations

from attrs import frozen

__all__ = [
    "AddressForm",
    "ClassicRegistration",
    "EstablishmentIdentification",
    "HolderForm",
    "IdentifierRecovery",
    "NetEntreprisesCompletion",
    "NetEntreprisesCredentials",
    "NetEntreprisesForm",
]


@frozen(kw_only=True)
class EstablishmentIdentification:
    """Classic step 1 (C1): SIRET, contract number and the security check: the id of the
    challenge shown (``Platform.security_check()``) and its answer."""

    siret: str
    contract_number: str
    captcha_response: str
    captcha_challenge: str = ""


@frozen(kw_only=True)
class AddressForm:
    """The professional address of C4."""

    street: str  # numéro et libellé de la voie
    postal_code: str
    city: str
    address_complement: str = ""  # facultatif
    identification_complement: str = ""  # facultatif
    locality: str = ""  # lieu-dit, boîte postale (facultatif)


@frozen(kw_only=True)
class HolderForm:
    """Classic step 2 (C4) and an administrator's « créer un compte » (R5)."""

    civility: str
    last_name: str
    first_name: str
    email: str
    email_confirmation: str
    phone: str
    service_function: str
    address: AddressForm


@frozen(kw_only=True)
class ClassicRegistration:
    """Classic steps 2 and 3 (C4, C5). The pair comes from step 1's ``proof`` (C10),
    so nothing of step 1 is typed again."""

    proof: str
    holder: HolderForm
    terms_accepted: bool

    def __repr__(self) -> str:  # a proof is a bearer credential: kept out of logs
        return (
            f"ClassicRegistration(proof='***', holder={self.holder!r}, "
            f"terms_accepted={self.terms_accepted!r})"
        )


@frozen(kw_only=True)
class NetEntreprisesCredentials:
    """Rule N1: all four are required."""

    siret: str
    last_name: str
    first_name: str
    password: str

    def __repr__(self) -> str:  # the password never reaches a log through a repr
        return (
            f"NetEntreprisesCredentials(siret={self.siret!r}, last_name={self.last_name!r}, "
            f"first_name={self.first_name!r}, password='***')"
        )


@frozen(kw_only=True)
class NetEntreprisesForm:
    """Rules N3, N4: nom and prénom come from the sign-in, the rest from the form."""

    civility: str
    email: str
    email_confirmation: str
    phone: str
    service_function: str
    address: AddressForm
    terms_accepted: bool


@frozen(kw_only=True)
class NetEntreprisesCompletion:
    ticket: str
    form: NetEntreprisesForm


@frozen(kw_only=True)
class IdentifierRecovery:
    """Rule A6 (inferred inputs)."""

    siret: str
    last_name: str
    first_name: str
    email: str
