"""Ready-made journeys on in-memory adapters, for our tests and for hosts' tests.

``Journey`` holds a platform, its fake clock and its in-memory adapters, and walks
the common paths in one call each (register, create the password, open access,
join through Net-Entreprises), so a test states only what it is about.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

from attrs import define, evolve, field, fields

from ..adapters.clock import FakeClock
from ..adapters.randomness import SeededRandomSource
from ..application.commands import (
    AddressForm,
    ClassicRegistration,
    EstablishmentIdentification,
    HolderForm,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
    NetEntreprisesForm,
)
from ..application.platform import Platform
from ..application.results import (
    IdentificationResult,
    NetEntreprisesJoined,
    NetEntreprisesSignedIn,
    RegistrationSubmitted,
)
from ..bootstrap import InMemoryPlatform, build_in_memory
from ..domain.notifications import EmailMessage
from ..domain.policy import Policy
from ..domain.throttling import RateLimit, RateLimits
from ..ports import PasswordHasher
from .samples import sample_directory

__all__ = [
    "COMMUNE",
    "COMMUNE_CONTRACT",
    "HOSPITAL",
    "HOSPITAL_CONTRACT",
    "PASSWORD",
    "START",
    "Journey",
    "address_form",
    "holder_form",
    "net_entreprises_form",
    "step_one_proof",
    "unthrottled",
]

START = datetime(2024, 3, 13, 9, 30, tzinfo=UTC)
COMMUNE, COMMUNE_CONTRACT = "21330063500017", "FM330063"
HOSPITAL, HOSPITAL_CONTRACT = "26330045100014", "FM330045"
CLINIC, CLINIC_CONTRACT = "55210055400401", "FM552100"  # private (5710), FMIS contract
CLOSED, CLOSED_CONTRACT = "21690123100011", "CN690123"
NO_CONTRACT = "26690002600102"  # public hospital 7364 without any contract
OVERSEAS, OVERSEAS_CONTRACT = "21971101700018", "FM971101"
PASSWORD = "Motdepasse-1"


def unthrottled(policy: Policy | None = None) -> Policy:
    """``policy`` (the spec's by default) with every rate limit (P1) out of reach: for
    tests that drive many requests in a few seconds of wall time (a random model, a race)
    and are about other rules. Rate limits count real seconds, whatever the clock says."""
    base = policy or Policy()
    lifted = RateLimit(1_000_000_000, timedelta(seconds=1))
    limits = {a.name: lifted for a in fields(RateLimits)}
    return evolve(base, rate_limits=RateLimits(**limits))


def step_one_proof(
    platform: Platform,
    siret: str,
    contract: str,
    *,
    captcha_response: str = "trombone",
    captcha_challenge: str = "",
) -> str:
    """Step 1 passed for the pair: the proof that registering, the full administrators
    list and the resend require (C10). ``captcha_response`` defaults to the in-memory
    security check's answer; a platform wired to another check passes that one's, with
    the id of the challenge it answers (``platform.security_check().id``)."""
    return platform.identify_establishment(
        EstablishmentIdentification(
            siret=siret,
            contract_number=contract,
            captcha_response=captcha_response,
            captcha_challenge=captcha_challenge,
        )
    ).proof


def address_form(**changes: str) -> AddressForm:
    values = {"street": "6 place des Clémens", "postal_code": "33160", "city": "Saint-Aubin"}
    values.update(changes)
    return AddressForm(**values)


_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def holder_form(
    first_name: str = "Jeanne",
    last_name: str = "Dupont",
    *,
    email: str | None = None,
    **changes: object,
) -> HolderForm:
    # As a French employer's addresses are: « Cécile Noël » is cecile.noel@… (M1: a relay
    # without SMTPUTF8 cannot take accents before « @ », see ``Policy.smtputf8_relay``).
    name = f"{first_name}.{last_name}".lower().replace(" ", "-").translate(_LIGATURES)
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    mail = email or f"{plain}@employeur.example"
    values: dict[str, object] = {
        "civility": "Madame",
        "last_name": last_name,
        "first_name": first_name,
        "email": mail,
        "email_confirmation": mail,
        "phone": "05 56 11 41 23",
        "service_function": "Ressources humaines",
        "address": address_form(),
    }
    values.update(changes)
    return HolderForm(**values)  # type: ignore[arg-type]


def net_entreprises_form(
    email: str = "paul.martin@employeur.example", **changes: object
) -> NetEntreprisesForm:
    values: dict[str, object] = {
        "civility": "Monsieur",
        "email": email,
        "email_confirmation": email,
        "phone": "0556114124",
        "service_function": "Finances",
        "address": address_form(),
        "terms_accepted": True,
    }
    values.update(changes)
    return NetEntreprisesForm(**values)  # type: ignore[arg-type]


@define
class Journey:
    """A platform on in-memory adapters with a fake clock at :data:`START`."""

    world: InMemoryPlatform
    clock: FakeClock
    _people: int = field(default=0, init=False)

    @classmethod
    def start(
        cls,
        *,
        policy: Policy | None = None,
        seed: int = 7,
        at: datetime = START,
        hasher: PasswordHasher | None = None,
    ) -> Journey:
        clock = FakeClock(at)
        world = build_in_memory(
            clock=clock,
            random=SeededRandomSource(seed),
            directory=sample_directory(),
            policy=policy,
            hasher=hasher,
            secret=b"journey-secret-journey-secret-00",
        )
        return cls(world, clock)

    @property
    def platform(self) -> Platform:
        return self.world.platform

    def later(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))

    # --- e-mails -----------------------------------------------------------------------

    def deliver(self) -> None:
        self.platform.dispatch_notifications(limit=10_000)

    def mails_to(self, address: str) -> list[EmailMessage]:
        self.deliver()
        return self.world.mailer.to(address)

    def last_token(self, address: str) -> str:
        """The token of the last link e-mailed to ``address``."""
        for mail in reversed(self.mails_to(address)):
            if mail.link_url:
                return mail.link_url.split("jeton=", 1)[1]
        raise LookupError(f"no link e-mailed to {address}")

    def withdrawal_code_in_letter(self, siret: str) -> str:
        self.deliver()
        for letter in reversed(self.world.letters.sent):
            if letter.siret == siret and letter.withdrawal_code:
                return letter.withdrawal_code
        raise LookupError(f"no withdrawal letter for {siret}")

    # --- paths -------------------------------------------------------------------------

    def identify(
        self, siret: str = COMMUNE, contract: str = COMMUNE_CONTRACT
    ) -> IdentificationResult:
        return self.platform.identify_establishment(
            EstablishmentIdentification(
                siret=siret, contract_number=contract, captcha_response="trombone"
            )
        )

    def proof(self, siret: str = COMMUNE, contract: str = COMMUNE_CONTRACT) -> str:
        """Step 1 passed for the pair: the proof the later steps require (C10)."""
        return step_one_proof(self.platform, siret, contract)

    def register(
        self,
        siret: str = COMMUNE,
        contract: str = COMMUNE_CONTRACT,
        *,
        holder: HolderForm | None = None,
        proof: str | None = None,
    ) -> RegistrationSubmitted:
        """Classic steps 1 to 3 (step 1 skipped when ``proof`` is one it handed out); the
        applicant's e-mail is ``holder.email``."""
        return self.platform.register(
            ClassicRegistration(
                proof=proof or self.proof(siret, contract),
                holder=holder or holder_form(),
                terms_accepted=True,
            )
        )

    def create_password(self, email: str, password: str = PASSWORD) -> None:
        self.platform.create_password(self.last_token(email), password, password)

    def enrolled_administrator(
        self,
        siret: str = COMMUNE,
        contract: str = COMMUNE_CONTRACT,
        *,
        holder: HolderForm | None = None,
    ) -> str:
        """Registers, creates the password and reaches day J: an enrolled administrator."""
        holder = holder or holder_form()
        submitted = self.register(siret, contract, holder=holder)
        self.create_password(holder.email)
        self.later(days=self.platform.policy.objection_period_days)
        self.platform.sweep()
        self.deliver()
        return submitted.identifier

    def join_with_net_entreprises(
        self,
        siret: str = COMMUNE,
        *,
        last_name: str = "Martin",
        first_name: str = "Paul",
        email: str = "paul.martin@employeur.example",
    ) -> NetEntreprisesJoined:
        self.world.net_entreprises.register(
            siret=siret, last_name=last_name, first_name=first_name, password="ne-password"
        )
        signed = self.platform.sign_in_with_net_entreprises(
            NetEntreprisesCredentials(
                siret=siret, last_name=last_name, first_name=first_name, password="ne-password"
            )
        )
        assert isinstance(signed, NetEntreprisesSignedIn)
        joined = self.platform.complete_net_entreprises(
            NetEntreprisesCompletion(ticket=signed.ticket, form=net_entreprises_form(email))
        )
        self.deliver()
        return joined

    def active_user(self, admin: str, first_name: str = "Luc", last_name: str = "Moreau") -> str:
        """An administrator creates a user, who creates a password."""
        holder = holder_form(first_name, last_name)
        created = self.platform.create_user(admin, holder)
        self.create_password(holder.email)
        return created.identifier
