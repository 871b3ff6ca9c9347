"""Establishments as the directory knows them, and their enrolment on the platform (E3, E4)."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import evolve, frozen

from .errors import (
    EstablishmentClosedError,
    LegalCategoryNotEligibleError,
    TransitionNotAllowedError,
)
from .events import (
    AccessOpened,
    Actor,
    EstablishmentEnrolled,
    RegistrationLapsed,
    RegistrationSubmitted,
    RegistrationWithdrawn,
)
from .policy import Policy
from .transition import Transition
from .values import Civility, ContractNumber, Identifier, LegalCategory, PostalAddress, Siret

__all__ = [
    "ENROLMENT_MOVES",
    "Contract",
    "Enrolment",
    "EnrolmentPath",
    "EnrolmentState",
    "Establishment",
    "LegalRepresentative",
    "check_eligibility",
]


@frozen(kw_only=True)
class Establishment:
    """What the directory (or a registry such as INSEE Sirene) says of a SIRET (N2)."""

    siret: Siret
    designation: str
    legal_category: LegalCategory
    closed: bool = False  # état administratif « fermé »
    legal_unit_ceased: bool = False  # unité légale « cessée »
    address: PostalAddress | None = None


@frozen(kw_only=True)
class Contract:
    """Rule E2: a contract belongs to one fund and one SIRET."""

    number: ContractNumber
    fund: str
    siret: Siret


@frozen(kw_only=True)
class LegalRepresentative:
    """The person legally responsible for the establishment; receives the letters (M2)."""

    civility: Civility | None
    last_name: str
    first_name: str
    title: str = ""  # « Maire », « Directeur général »…
    address: PostalAddress

    @property
    def display_name(self) -> str:
        civility = f"{self.civility.label} " if self.civility else ""
        return f"{civility}{self.first_name} {self.last_name}".strip()


def check_eligibility(establishment: Establishment, *, has_contract: bool, policy: Policy) -> None:
    """Rule E4: closed never; a fund contract suffices; otherwise the legal category decides.

    The classic path always has a contract (its gate, E2); the Net-Entreprises path
    may rely on the legal category alone.
    """
    if establishment.closed or establishment.legal_unit_ceased:
        raise EstablishmentClosedError()
    if has_contract:
        return
    if not policy.is_eligible_category(establishment.legal_category.code):
        raise LegalCategoryNotEligibleError(establishment.legal_category.code)


class EnrolmentState(enum.Enum):
    """Rule E3."""

    NOT_ENROLLED = "not_enrolled"
    PENDING = "pending"
    ENROLLED = "enrolled"

    @property
    def label(self) -> str:
        return {
            EnrolmentState.NOT_ENROLLED: "Non inscrit",
            EnrolmentState.PENDING: "En cours d'inscription",
            EnrolmentState.ENROLLED: "Inscrit",
        }[self]


# Rule E3: every move an enrolment has, and the state it starts from. Nothing else
# exists; a move from another state raises TransitionNotAllowedError.
ENROLMENT_MOVES: dict[str, EnrolmentState] = {
    "submit_classic": EnrolmentState.NOT_ENROLLED,
    "enrol_net_entreprises": EnrolmentState.NOT_ENROLLED,
    "withdraw": EnrolmentState.PENDING,
    "lapse": EnrolmentState.PENDING,
    "open_access": EnrolmentState.PENDING,
}


class EnrolmentPath(enum.Enum):
    CLASSIC = "classic"
    NET_ENTREPRISES = "net_entreprises"


@frozen(kw_only=True)
class Enrolment:
    """An establishment's enrolment. Absent from the store means ``NOT_ENROLLED``."""

    siret: Siret
    state: EnrolmentState = EnrolmentState.NOT_ENROLLED
    path: EnrolmentPath | None = None
    applicant: Identifier | None = None
    submitted_at: datetime | None = None
    access_from: datetime | None = None
    enrolled_at: datetime | None = None
    version: int = 0

    @property
    def deadline(self) -> datetime | None:
        """When the sweep (T1) must look at this enrolment again: day J while pending."""
        return self.access_from if self.state is EnrolmentState.PENDING else None

    def _require(self, action: str) -> None:
        if self.state is not ENROLMENT_MOVES[action]:
            raise TransitionNotAllowedError(self.state.value, action)

    def submit_classic(
        self, *, applicant: Identifier, at: datetime, policy: Policy
    ) -> Transition[Enrolment]:
        """Rule C5: NOT_ENROLLED → PENDING; access opens on day J (submission + 8 days)."""
        self._require("submit_classic")
        access_from = policy.access_opening(at)
        pending = evolve(
            self,
            state=EnrolmentState.PENDING,
            path=EnrolmentPath.CLASSIC,
            applicant=applicant,
            submitted_at=at,
            access_from=access_from,
            enrolled_at=None,
        )
        event = RegistrationSubmitted(
            at=at,
            siret=self.siret.value,
            account=applicant.value,
            actor=applicant.value,
            access_from=access_from,
        )
        return Transition(pending, (event,))

    def _back_to_not_enrolled(self) -> Enrolment:
        return evolve(
            self,
            state=EnrolmentState.NOT_ENROLLED,
            path=None,
            applicant=None,
            submitted_at=None,
            access_from=None,
        )

    def withdraw(self, *, at: datetime, actor: str) -> Transition[Enrolment]:
        """Rule C9: PENDING → NOT_ENROLLED, until access opens."""
        self._require("withdraw")
        event = RegistrationWithdrawn(
            at=at, siret=self.siret.value, account=_value(self.applicant), actor=actor
        )
        return Transition(self._back_to_not_enrolled(), (event,))

    def lapse(self, *, at: datetime) -> Transition[Enrolment]:
        """Rule C6: PENDING → NOT_ENROLLED when the creation link expired unused."""
        self._require("lapse")
        event = RegistrationLapsed(
            at=at, siret=self.siret.value, account=_value(self.applicant), actor=Actor.SYSTEM
        )
        return Transition(self._back_to_not_enrolled(), (event,))

    def open_access(self, *, at: datetime) -> Transition[Enrolment]:
        """Rule C8: PENDING → ENROLLED once day J is reached (the caller checks the password)."""
        self._require("open_access")
        if self.access_from is None or at < self.access_from:
            raise TransitionNotAllowedError(self.state.value, "open_access before day J")
        event = AccessOpened(
            at=at, siret=self.siret.value, account=_value(self.applicant), actor=Actor.SYSTEM
        )
        return Transition(evolve(self, state=EnrolmentState.ENROLLED, enrolled_at=at), (event,))

    def enrol_net_entreprises(
        self, *, applicant: Identifier, at: datetime
    ) -> Transition[Enrolment]:
        """Rule N4: NOT_ENROLLED → ENROLLED at once, no waiting period."""
        self._require("enrol_net_entreprises")
        enrolled = evolve(
            self,
            state=EnrolmentState.ENROLLED,
            path=EnrolmentPath.NET_ENTREPRISES,
            applicant=applicant,
            submitted_at=at,
            access_from=at,
            enrolled_at=at,
        )
        event = EstablishmentEnrolled(
            at=at, siret=self.siret.value, account=applicant.value, actor=applicant.value
        )
        return Transition(enrolled, (event,))


def _value(identifier: Identifier | None) -> str | None:
    return identifier.value if identifier else None
