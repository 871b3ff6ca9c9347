"""The use cases of PEP's onboarding, one method each, each one unit of work.

Every method parses its input (all field errors at once), reads the clock once,
applies domain transitions, and commits the new state, its events (L1) and the
notifications it owes (M3) together. Nothing is sent from inside a use case: the
dispatcher (:meth:`Platform.dispatch_notifications`) delivers the outbox later.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from attrs import evolve

from ..domain.account import Account, AccountState, Holder, Profile
from ..domain.errors import (
    AccessNotYetOpenError,
    AccountBlockedError,
    AccountNotFoundError,
    AccountStateForbidsLoginError,
    CaptchaFailedError,
    ConflictError,
    EstablishmentAlreadyEnrolledError,
    FieldError,
    IdentifierNotFoundError,
    InvalidCredentialsError,
    LastAdministratorError,
    LinkNoLongerValidError,
    NetEntreprisesTicketInvalidError,
    NotificationDeliveryError,
    OnboardingError,
    PermissionDeniedError,
    RegistrationInProgressError,
    TransitionNotAllowedError,
    UnknownEstablishmentError,
    ValidationError,
)
from ..domain.establishment import (
    Enrolment,
    EnrolmentState,
    Establishment,
    check_eligibility,
)
from ..domain.events import Actor, DomainEvent, LinkIssued
from ..domain.links import Link, LinkPurpose, hash_token
from ..domain.notifications import (
    EmailKind,
    EmailNotification,
    Letter,
    LetterKind,
    LetterNotification,
    Notification,
    OutboxMessage,
    SealedLink,
)
from ..domain.password import PasswordCheck, check_password
from ..domain.policy import Policy
from ..domain.rights import AccessLevel
from ..domain.transition import Transition
from ..domain.values import ContractNumber, EmailAddress, Identifier, PersonName, Siret
from ..ports import (
    CaptchaVerifier,
    Clock,
    ContractDirectory,
    EmailRenderer,
    EstablishmentRegistry,
    LetterSender,
    Mailer,
    NetEntreprisesVerifier,
    PasswordHasher,
    RandomSource,
    UnitOfWork,
)
from .commands import (
    ClassicRegistration,
    EstablishmentIdentification,
    HolderForm,
    IdentifierRecovery,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
)
from .forms import TERMS_REQUIRED, FormParser, parse_holder, parse_net_entreprises_holder
from .rendering import letter_text, local_date
from .results import (
    SINGLE_ADMINISTRATOR_WARNING,
    AccessLevelView,
    CreationLinkResent,
    DispatchReport,
    EstablishmentAlreadyEnrolled,
    EstablishmentNotEnrolled,
    IdentificationResult,
    IdentifierRecovered,
    LoginSucceededResult,
    MemberRow,
    MembersList,
    NetEntreprisesJoined,
    NetEntreprisesLoggedIn,
    NetEntreprisesSignedIn,
    NetEntreprisesSignInResult,
    PasswordCreated,
    PasswordResetDone,
    PasswordResetRequested,
    RegistrationPending,
    RegistrationSubmitted,
    RegistrationWithdrawnResult,
    SweepReport,
    UserCreated,
)
from .secrets import PlatformSecret

__all__ = ["LINK_PATHS", "Platform"]

T = TypeVar("T")

LINK_PATHS = {
    LinkPurpose.PASSWORD_CREATION: "/creer-mot-de-passe",
    LinkPurpose.PASSWORD_RESET: "/reinitialiser-mot-de-passe",
    LinkPurpose.WITHDRAWAL_BY_APPLICANT: "/desinscription",
    LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE: "/desinscription",
}
_CONFLICT_RETRIES = 3
_LAPSED = "lapsed"  # a sweep outcome: the account was deleted and its registration lapsed
# Compared against when the identifier is unknown, so both answers cost one hash (A4).
_DUMMY_PASSWORD = "Pep's-0-dummy!"


class Platform:
    """Every use case of the spec. Build it with :func:`peps_onboarding.build`."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        registry: EstablishmentRegistry,
        contracts: ContractDirectory,
        net_entreprises: NetEntreprisesVerifier,
        captcha: CaptchaVerifier,
        clock: Clock,
        hasher: PasswordHasher,
        random: RandomSource,
        mailer: Mailer,
        letters: LetterSender,
        renderer: EmailRenderer,
        secret: PlatformSecret,
        policy: Policy,
        base_url: str,
        accept_test_email_domains: bool = False,
    ) -> None:
        self._uow = unit_of_work
        self._registry = registry
        self._contracts = contracts
        self._net_entreprises = net_entreprises
        self._captcha = captcha
        self._clock = clock
        self._hasher = hasher
        self._random = random
        self._mailer = mailer
        self._letters = letters
        self._renderer = renderer
        self._secret = secret
        self.policy = policy
        self._base_url = base_url.rstrip("/")
        self._test_emails = accept_test_email_domains
        self._dummy_hash = hasher.hash(_DUMMY_PASSWORD)

    # ==================================================================================
    # Classic path (C1–C9)
    # ==================================================================================

    def identify_establishment(self, command: EstablishmentIdentification) -> IdentificationResult:
        """Rules C1, C2, C3, E2, E4: step 1 of the classic registration."""
        form = FormParser()
        siret = form.field("siret", Siret.parse, command.siret)
        number = form.field("numero_contrat", ContractNumber.parse, command.contract_number)
        if not isinstance(command.captcha_response, str) or not command.captcha_response.strip():
            form.fail("controle_securite", FieldError("required", "Ce champ est obligatoire."))
        form.done()
        assert siret is not None and number is not None
        # The security check comes before any lookup: a failure says nothing (C1).
        if not self._captcha.verify(command.captcha_response[:256]):
            raise CaptchaFailedError()
        with self._uow() as uow:
            # Looked up inside the unit of work: a directory on the same database
            # reads on its connection (one connection per use case).
            establishment = self._establishment_for_pair(siret, number)
            enrolment = self._current_enrolment(uow, siret, self._clock.now())
            state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
            if state is EnrolmentState.ENROLLED:
                names = self._administrator_names(uow, siret)
                return EstablishmentAlreadyEnrolled(
                    siret=siret.value,
                    designation=establishment.designation,
                    administrators=names[: self.policy.administrators_shown],
                    administrator_count=len(names),
                )
        if state is EnrolmentState.PENDING:
            return RegistrationPending(siret=siret.value, designation=establishment.designation)
        return EstablishmentNotEnrolled(siret=siret.value, designation=establishment.designation)

    def administrators(self, siret: str, contract_number: str) -> tuple[str, ...]:
        """Rules R7, C2: every administrator's name (never e-mail or phone)."""
        parsed_siret, number = self._parse_pair(siret, contract_number)
        with self._uow() as uow:
            self._establishment_for_pair(parsed_siret, number)
            return self._administrator_names(uow, parsed_siret)

    def resend_creation_link(self, siret: str, contract_number: str) -> CreationLinkResent:
        """Rule C3: « Vous en envoyer un nouveau » — a new link replaces the old one (A8)."""
        parsed_siret, number = self._parse_pair(siret, contract_number)

        def run() -> CreationLinkResent:
            with self._uow() as uow:
                establishment = self._establishment_for_pair(parsed_siret, number)
                now = self._clock.now()
                enrolment = self._current_enrolment(uow, parsed_siret, now)
                if enrolment is None or enrolment.state is not EnrolmentState.PENDING:
                    raise _not_pending(enrolment)
                assert enrolment.applicant is not None
                account = uow.accounts.get(enrolment.applicant)
                if account is None or account.state is not AccountState.PENDING_ACTIVATION:
                    return CreationLinkResent(siret=parsed_siret.value, sent=False)
                self._send_creation_link(uow, account, establishment, now, enrolment)
                uow.commit()
                return CreationLinkResent(siret=parsed_siret.value, sent=True)

        return self._retrying(run)

    def register(self, command: ClassicRegistration) -> RegistrationSubmitted:
        """Rules C4, C5, E3, E6, A1, M2: steps 2 and 3 of the classic registration."""
        form = FormParser()
        siret = form.field("siret", Siret.parse, command.siret)
        number = form.field("numero_contrat", ContractNumber.parse, command.contract_number)
        holder = parse_holder(form, command.holder, test_emails=self._test_emails)
        if command.terms_accepted is not True:
            form.fail("cgu", TERMS_REQUIRED)
        form.done()
        assert siret is not None and number is not None and holder is not None

        def run() -> RegistrationSubmitted:
            with self._uow() as uow:
                establishment = self._establishment_for_pair(siret, number)
                now = self._clock.now()
                enrolment = self._current_enrolment(uow, siret, now) or Enrolment(siret=siret)
                if enrolment.state is not EnrolmentState.NOT_ENROLLED:
                    raise _not_pending(enrolment)
                identifier = self._new_identifier(uow, holder)
                submitted = enrolment.submit_classic(
                    applicant=identifier, at=now, policy=self.policy
                )
                access_from = submitted.state.access_from
                assert access_from is not None
                created = Account.create(
                    identifier=identifier,
                    siret=siret,
                    profile=Profile.ADMINISTRATOR,
                    holder=holder,
                    at=now,
                    policy=self.policy,
                    actor=identifier.value,
                    expires_at=self.policy.expiry_from(access_from),
                )
                if enrolment.version == 0:
                    uow.enrolments.add(submitted.state)
                else:
                    uow.enrolments.update(submitted.state)
                uow.accounts.add(created.state)
                self._record(uow, submitted, created)
                self._send_creation_link(uow, created.state, establishment, now, submitted.state)
                self._send_enrolment_letter(uow, establishment, created.state, now, submitted.state)
                uow.commit()
            return RegistrationSubmitted(
                siret=siret.value,
                designation=establishment.designation,
                identifier=identifier.value,
                identifier_spelled=identifier.spelled,
                access_from=access_from.astimezone(self.policy.zone).date(),
            )

        return self._retrying(run)

    def check_password(self, password: str, confirmation: str | None = None) -> PasswordCheck:
        """Rule A3: every unmet rule, for a screen that keeps « Créer » disabled."""
        if not isinstance(password, str):
            raise ValidationError(
                {"mot_de_passe": FieldError("password.type", "Ce champ doit être un texte.")}
            )
        if confirmation is not None and not isinstance(confirmation, str):
            confirmation = "\x00"  # never equal to a password: the confirmation rule is unmet
        return check_password(password, confirmation)

    def create_password(self, token: str, password: str, confirmation: str) -> PasswordCreated:
        """Rules C6, C7, C8, A3, A8: the password-creation link."""
        self._usable_link(token, LinkPurpose.PASSWORD_CREATION)
        password_hash = self._hash_new_password(password, confirmation)

        def run() -> PasswordCreated:
            with self._uow() as uow:
                now = self._clock.now()
                link, account = self._consume_link(uow, token, LinkPurpose.PASSWORD_CREATION, now)
                activated = account.activate(password_hash=password_hash, at=now)
                uow.accounts.update(activated.state)
                uow.links.save(link.use(now))
                self._record(uow, activated)
                account = activated.state
                enrolment = uow.enrolments.get(account.siret)
                access_from = now
                access_open = True
                if enrolment is not None and enrolment.state is EnrolmentState.PENDING:
                    assert enrolment.access_from is not None
                    access_from = enrolment.access_from
                    access_open = now >= access_from
                    if access_open and enrolment.applicant == account.identifier:
                        # Created after day J: access opens at once (C8).
                        self._open_access(uow, enrolment, account, now)
                uow.commit()
            day = access_from.astimezone(self.policy.zone).date()
            return PasswordCreated(
                identifier=account.identifier.value,
                access_from=day,
                access_open=access_open,
                message=(
                    "Votre mot de passe a bien été créé. Vous pourrez accéder à l'ensemble des "
                    f"services de la Plateforme Employeurs Publics à compter du {day:%d/%m/%Y}."
                ),
            )

        return self._retrying(run)

    def withdraw_registration(self, code: str) -> RegistrationWithdrawnResult:
        """Rule C9: the legal representative (code in the letter) or the applicant (link in
        the e-mail) withdraws a pending registration until access opens."""
        link = self._usable_link(
            code,
            LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE,
            LinkPurpose.WITHDRAWAL_BY_APPLICANT,
        )

        def run() -> RegistrationWithdrawnResult:
            with self._uow() as uow:
                now = self._clock.now()
                used, account = self._consume_link(uow, code, link.purpose, now)
                enrolment = uow.enrolments.get(account.siret)
                if (
                    enrolment is None
                    or enrolment.state is not EnrolmentState.PENDING
                    or enrolment.applicant != account.identifier
                ):
                    raise LinkNoLongerValidError(self._administrator_names(uow, account.siret))
                by_representative = link.purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE
                actor = (
                    Actor.LEGAL_REPRESENTATIVE if by_representative else account.identifier.value
                )
                withdrawn = enrolment.withdraw(at=now, actor=actor)
                deleted = account.delete(at=now, actor=actor, reason="registration_withdrawn")
                uow.enrolments.update(withdrawn.state)
                uow.accounts.update(deleted.state)
                uow.links.save(used.use(now))
                self._revoke_links(uow, account.identifier, now)
                self._record(uow, withdrawn, deleted)
                establishment = self._registry.establishment(account.siret)
                self._owe(
                    uow,
                    self._email(
                        EmailKind.REGISTRATION_WITHDRAWN,
                        account,
                        establishment,
                        facts=(
                            (
                                "withdrawn_by",
                                "à la demande du représentant légal"
                                if by_representative
                                else "à votre demande",
                            ),
                        ),
                    ),
                    now,
                )
                uow.commit()
            return RegistrationWithdrawnResult(siret=account.siret.value)

        return self._retrying(run)

    # ==================================================================================
    # Net-Entreprises path (N1–N6)
    # ==================================================================================

    def sign_in_with_net_entreprises(
        self, credentials: NetEntreprisesCredentials
    ) -> NetEntreprisesSignInResult:
        """Rules N1, N2, N5, N6, E4: check the credentials, then the establishment."""
        form = FormParser()
        siret = form.field("siret", Siret.parse, credentials.siret)
        last_name = form.field("nom", PersonName.parse, credentials.last_name)
        first_name = form.field("prenom", PersonName.parse, credentials.first_name)
        password = credentials.password
        if not _is_text(password, 256) or not password:
            form.fail("mot_de_passe", FieldError("required", "Ce champ est obligatoire."))
        form.done()
        assert siret is not None and last_name is not None and first_name is not None
        self._net_entreprises.verify(
            siret=siret, last_name=last_name.value, first_name=first_name.value, password=password
        )
        establishment = self._registry.establishment(siret)
        if establishment is None:
            raise UnknownEstablishmentError()
        check_eligibility(
            establishment, has_contract=self._contracts.has_contract(siret), policy=self.policy
        )

        def run() -> NetEntreprisesSignInResult:
            with self._uow() as uow:
                now = self._clock.now()
                enrolment = self._current_enrolment(uow, siret, now)
                state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
                if state is EnrolmentState.PENDING:
                    raise RegistrationInProgressError()
                existing = self._net_entreprises_account(uow, siret, last_name, first_name)
                if existing is not None:
                    return self._net_entreprises_login(uow, existing, now)
            expires_at = now + self.policy.net_entreprises_ticket_validity
            profile = Profile.USER if state is EnrolmentState.ENROLLED else Profile.ADMINISTRATOR
            return NetEntreprisesSignedIn(
                ticket=self._ticket(siret, last_name, first_name, expires_at),
                ticket_expires_at=expires_at,
                siret=siret.value,
                designation=establishment.designation,
                last_name=last_name.value,
                first_name=first_name.value,
                profile=profile.value,
            )

        return self._retrying(run)

    def complete_net_entreprises(self, command: NetEntreprisesCompletion) -> NetEntreprisesJoined:
        """Rules N3 (enrolled → user account) and N4 (not enrolled → enrol, administrator)."""
        siret, last_name, first_name = self._read_ticket(command.ticket)
        form = FormParser()
        holder = parse_net_entreprises_holder(
            form,
            command.form,
            last_name=last_name,
            first_name=first_name,
            test_emails=self._test_emails,
        )
        form.done()
        assert holder is not None
        establishment = self._registry.establishment(siret)
        if establishment is None:
            raise UnknownEstablishmentError()
        check_eligibility(
            establishment, has_contract=self._contracts.has_contract(siret), policy=self.policy
        )

        def run() -> NetEntreprisesJoined:
            with self._uow() as uow:
                now = self._clock.now()
                enrolment = self._current_enrolment(uow, siret, now) or Enrolment(siret=siret)
                if enrolment.state is EnrolmentState.PENDING:
                    raise RegistrationInProgressError()
                if self._net_entreprises_account(uow, siret, last_name, first_name):
                    raise ConflictError("a Net-Entreprises account exists for this person")
                identifier = self._new_identifier(uow, holder)
                enrolled = enrolment.state is EnrolmentState.ENROLLED
                created = Account.create(
                    identifier=identifier,
                    siret=siret,
                    profile=Profile.USER if enrolled else Profile.ADMINISTRATOR,
                    holder=holder,
                    at=now,
                    policy=self.policy,
                    actor=identifier.value,
                    net_entreprises=True,
                )
                uow.accounts.add(created.state)
                if enrolled:
                    self._record(uow, created)
                    for admin in uow.accounts.of_establishment(siret):
                        if admin.is_administrator:
                            self._owe(
                                uow,
                                self._email(
                                    EmailKind.NEW_NET_ENTREPRISES_USER,
                                    admin,
                                    establishment,
                                    facts=(
                                        ("new_user", holder.formal_name),
                                        ("new_user_identifier", identifier.value),
                                    ),
                                ),
                                now,
                            )
                else:
                    joined = enrolment.enrol_net_entreprises(applicant=identifier, at=now)
                    if enrolment.version == 0:
                        uow.enrolments.add(joined.state)
                    else:
                        uow.enrolments.update(joined.state)
                    self._record(uow, joined, created)
                    self._send_enrolment_letter(uow, establishment, created.state, now, None)
                uow.commit()
            return NetEntreprisesJoined(
                identifier=identifier.value,
                siret=siret.value,
                designation=establishment.designation,
                profile=created.state.profile.value,
            )

        return self._retrying(run)

    # ==================================================================================
    # Authentication (A4–A7)
    # ==================================================================================

    def login(self, identifier: str, password: str) -> LoginSucceededResult:
        """Rules A4, A7, C8, N6: identifier + password."""
        try:
            parsed = Identifier.parse(identifier)
        except ValueError:
            parsed = None
        if not _is_text(password, 256):
            password = ""  # cannot match any stored password; still costs one hash

        def run() -> LoginSucceededResult:
            with self._uow() as uow:
                now = self._clock.now()
                account = uow.accounts.get(parsed) if parsed else None
                if (
                    account is None
                    or account.state.is_closed
                    or account.net_entreprises
                    or account.password_hash is None
                ):
                    self._hasher.verify(self._dummy_hash, password)
                    raise InvalidCredentialsError()
                if account.state is AccountState.BLOCKED:
                    raise AccountBlockedError()
                enforced = self._enforce_deadlines(uow, account, now)
                if enforced is not account:
                    uow.commit()  # the expiry stands even though this login fails
                    account = enforced
                if not self._hasher.verify(account.password_hash or "", password):
                    if account.state is AccountState.ACTIVE:
                        failed = account.record_failed_login(at=now, policy=self.policy)
                        uow.accounts.update(failed.state)
                        self._record(uow, failed)
                        uow.commit()
                        if failed.state.state is AccountState.BLOCKED:
                            raise AccountBlockedError()
                    raise InvalidCredentialsError()
                if account.state is not AccountState.ACTIVE:
                    raise AccountStateForbidsLoginError()
                enrolment = uow.enrolments.get(account.siret)
                if enrolment is not None and enrolment.state is EnrolmentState.PENDING:
                    assert enrolment.access_from is not None
                    if now < enrolment.access_from or enrolment.applicant != account.identifier:
                        raise AccessNotYetOpenError(
                            enrolment.access_from.astimezone(self.policy.zone).date()
                        )
                    # Day J came before the sweep: open access now (T1, C8).
                    self._open_access(uow, enrolment, account, now)
                    enrolment = uow.enrolments.get(account.siret)
                    refreshed = uow.accounts.get(account.identifier)
                    assert refreshed is not None
                    account = refreshed
                if enrolment is None or enrolment.state is not EnrolmentState.ENROLLED:
                    raise AccountStateForbidsLoginError()
                logged = account.record_login(at=now, policy=self.policy)
                account = logged.state
                if self._hasher.needs_rehash(account.password_hash or ""):
                    account = account.rehash(password_hash=self._hasher.hash(password))
                uow.accounts.update(account)
                self._record(uow, logged)
                uow.commit()
            return self._login_result(account)

        return self._retrying(run)

    def request_password_reset(self, identifier: str) -> PasswordResetRequested:
        """Rule A5: the same answer whether or not the account exists."""
        try:
            parsed = Identifier.parse(identifier)
        except ValueError:
            return PasswordResetRequested()

        def run() -> PasswordResetRequested:
            with self._uow() as uow:
                now = self._clock.now()
                account = uow.accounts.get(parsed)
                if (
                    account is None
                    or account.net_entreprises
                    or account.state
                    not in (AccountState.ACTIVE, AccountState.BLOCKED, AccountState.EXPIRED)
                ):
                    return PasswordResetRequested()
                sealed = self._issue_link(
                    uow,
                    account,
                    LinkPurpose.PASSWORD_RESET,
                    now,
                    now + self.policy.reset_link_validity,
                )
                establishment = self._registry.establishment(account.siret)
                self._owe(
                    uow,
                    self._email(EmailKind.PASSWORD_RESET, account, establishment, link=sealed),
                    now,
                )
                uow.commit()
            return PasswordResetRequested()

        return self._retrying(run)

    def reset_password(self, token: str, password: str, confirmation: str) -> PasswordResetDone:
        """Rules A5, A3, A8: a new password; a blocked account is unblocked."""
        self._usable_link(token, LinkPurpose.PASSWORD_RESET)
        password_hash = self._hash_new_password(password, confirmation)

        def run() -> PasswordResetDone:
            with self._uow() as uow:
                now = self._clock.now()
                link, account = self._consume_link(uow, token, LinkPurpose.PASSWORD_RESET, now)
                was_blocked = account.state is AccountState.BLOCKED
                reset = account.reset_password(password_hash=password_hash, at=now)
                uow.accounts.update(reset.state)
                uow.links.save(link.use(now))
                self._record(uow, reset)
                uow.commit()
            return PasswordResetDone(identifier=account.identifier.value, unblocked=was_blocked)

        return self._retrying(run)

    def recover_identifier(self, command: IdentifierRecovery) -> IdentifierRecovered:
        """Rule A6: shown on screen when the details match exactly one account."""
        form = FormParser()
        siret = form.field("siret", Siret.parse, command.siret)
        last_name = form.field("nom", PersonName.parse, command.last_name)
        first_name = form.field("prenom", PersonName.parse, command.first_name)
        email = form.field(
            "courriel",
            lambda raw: EmailAddress.parse(raw, test_environment=self._test_emails),
            command.email,
        )
        form.done()
        assert siret and last_name and first_name and email
        with self._uow() as uow:
            matches = [
                a
                for a in uow.accounts.of_establishment(siret)
                if not a.state.is_closed
                and a.holder.last_name.matches(last_name)
                and a.holder.first_name.matches(first_name)
                and a.holder.email.same_as(email)
            ]
        if len(matches) != 1:
            raise IdentifierNotFoundError()
        return IdentifierRecovered(identifier=matches[0].identifier.value)

    # ==================================================================================
    # Administration (R1–R7, E5)
    # ==================================================================================

    def create_user(self, actor: str, holder_form: HolderForm) -> UserCreated:
        """Rule R5: an administrator creates a user account (15-day creation link)."""
        form = FormParser()
        holder = parse_holder(form, holder_form, test_emails=self._test_emails)
        form.done()
        assert holder is not None

        def run() -> UserCreated:
            with self._uow() as uow:
                now = self._clock.now()
                admin = self._administrator(uow, actor)
                identifier = self._new_identifier(uow, holder)
                created = Account.create(
                    identifier=identifier,
                    siret=admin.siret,
                    profile=Profile.USER,
                    holder=holder,
                    at=now,
                    policy=self.policy,
                    actor=admin.identifier.value,
                )
                uow.accounts.add(created.state)
                self._record(uow, created)
                establishment = self._registry.establishment(admin.siret)
                self._send_creation_link(
                    uow,
                    created.state,
                    establishment,
                    now,
                    None,
                    created_by=admin.holder.formal_name,
                )
                uow.commit()
            return UserCreated(identifier=identifier.value)

        return self._retrying(run)

    def set_right(self, actor: str, target: str, service: str, level: AccessLevel) -> None:
        """Rules R3, R5: grant, change or revoke (``AccessLevel.NONE``) a right."""
        if self.policy.service(service) is None:
            raise ValidationError(
                {"service": FieldError("service.unknown", "Ce service n'existe pas.")}
            )

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.set_right(
                service=service, level=level, at=now, actor=admin.identifier.value
            )

        self._administer(actor, target, change)

    def invalidate(self, actor: str, target: str) -> None:
        """Rules R5, A2, E5: « infirmer » an account (never the last administrator)."""

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.invalidate(at=now, actor=admin.identifier.value)

        self._administer(actor, target, change, guards_last_administrator=True)

    def renew(self, actor: str, target: str) -> None:
        """Rules R5, A7: renew an expired account; the 18 months restart."""

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.renew(at=now, actor=admin.identifier.value, policy=self.policy)

        self._administer(actor, target, change)

    def unblock(self, actor: str, target: str) -> None:
        """Rule R5: unblock a blocked account."""

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.unblock(at=now, actor=admin.identifier.value)

        self._administer(actor, target, change)

    def promote(self, actor: str, target: str) -> None:
        """Rule R5: a user becomes administrator."""

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.change_profile(
                profile=Profile.ADMINISTRATOR, at=now, actor=admin.identifier.value
            )

        self._administer(actor, target, change)

    def demote(self, actor: str, target: str) -> None:
        """Rules R5, E5: an administrator becomes user (never the last one)."""

        def change(account: Account, admin: Account, now: datetime) -> Transition[Account]:
            return account.change_profile(
                profile=Profile.USER, at=now, actor=admin.identifier.value
            )

        self._administer(actor, target, change, guards_last_administrator=True)

    def list_members(self, actor: str) -> MembersList:
        """Rule R5: « Mes intervenants », with a warning while there is one administrator."""
        with self._uow() as uow:
            admin = self._administrator(uow, actor)
            accounts = [
                a for a in uow.accounts.of_establishment(admin.siret) if not a.state.is_closed
            ]
        establishment = self._registry.establishment(admin.siret)
        zone = self.policy.zone
        rows = tuple(
            MemberRow(
                last_name=a.holder.last_name.value,
                first_name=a.holder.first_name.value,
                net_entreprises=a.net_entreprises,
                identifier=a.identifier.value,
                service=a.holder.service_function.value,
                profile=a.profile.label,
                status=a.state.label,
                expires_on=a.expires_at.astimezone(zone).date() if a.expires_at else None,
                last_login_at=a.last_login_at,
            )
            for a in accounts
        )
        admins = sum(1 for a in accounts if a.is_administrator)
        return MembersList(
            siret=admin.siret.value,
            designation=establishment.designation if establishment else "",
            members=rows,
            warning=SINGLE_ADMINISTRATOR_WARNING if admins < 2 else None,
        )

    def history(self, siret: str) -> tuple[DomainEvent, ...]:
        """Rule L1: every event of the establishment, in order."""
        form = FormParser()
        parsed = form.field("siret", Siret.parse, siret)
        form.done()
        assert parsed is not None
        with self._uow() as uow:
            return tuple(uow.events.history(parsed))

    # ==================================================================================
    # Time (T1) and delivery (M3)
    # ==================================================================================

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Rule T1: the idempotent pass a host scheduler calls.

        Deletes pending accounts whose creation link expired (and lapses their pending
        registration, C6), opens access on day J (C8), expires accounts (A7). Each item
        is its own unit of work, so one failure never blocks the others.
        """
        at = (now or self._clock.now()).astimezone(UTC)
        lapsed = deleted = opened = expired = skipped = 0
        with self._uow() as uow:
            due_accounts = [a.identifier for a in uow.accounts.due(at)]
            due_enrolments = [e.siret for e in uow.enrolments.due(at)]
        for siret in due_enrolments:  # first: opening access restarts the applicant's 18 months
            try:
                opened += self._sweep_enrolment(siret, at)
            except ConflictError:
                skipped += 1
        for identifier in due_accounts:
            try:
                outcome = self._sweep_account(identifier, at)
            except ConflictError:
                skipped += 1  # a use case changed it meanwhile: the next pass looks again
                continue
            if outcome is AccountState.DELETED:
                deleted += 1
            elif outcome is AccountState.EXPIRED:
                expired += 1
            elif outcome is not None:
                deleted, lapsed = deleted + 1, lapsed + 1
        return SweepReport(
            registrations_lapsed=lapsed,
            accounts_deleted=deleted,
            access_opened=opened,
            accounts_expired=expired,
            skipped=skipped,
        )

    def _sweep_account(self, identifier: Identifier, at: datetime) -> AccountState | str | None:
        """One due account, in its own unit of work: what it became, or None."""
        with self._uow() as uow:
            account = uow.accounts.get(identifier)
            if account is None:
                return None
            lapses = self._lapses(uow, account)
            after = self._enforce_deadlines(uow, account, at)
            if after.state is account.state:
                return None
            uow.commit()
        return _LAPSED if lapses else after.state

    def _sweep_enrolment(self, siret: Siret, at: datetime) -> int:
        """Day J for one pending establishment, in its own unit of work (C8)."""
        with self._uow() as uow:
            enrolment = uow.enrolments.get(siret)
            if enrolment is None or enrolment.deadline is None or enrolment.deadline > at:
                return 0
            assert enrolment.applicant is not None
            applicant = uow.accounts.get(enrolment.applicant)
            if applicant is None or applicant.state.is_closed or applicant.password_hash is None:
                return 0  # no password yet: the creation link's deadline decides (C6)
            self._open_access(uow, enrolment, applicant, at)
            uow.commit()
        return 1

    def dispatch_notifications(self, limit: int = 100) -> DispatchReport:
        """Rule M3: deliver what the outbox owes; failures are retried later with backoff.

        Messages are claimed first (committed), so several dispatchers never deliver the
        same one; delivery then happens outside any transaction. A crash after a delivery
        and before it is marked sent may deliver that one message again once its claim
        lapses; its id (the Message-ID, the letter id) lets the receiving side drop the
        duplicate.
        """

        def claim() -> list[OutboxMessage]:
            with self._uow() as uow:
                taken = list(
                    uow.outbox.claim(self._clock.now(), limit, self.policy.notification_claim_lease)
                )
                uow.commit()
            return taken

        due = self._retrying(claim)
        sent = failed = 0
        for message in due:
            try:
                self._deliver(message)
            except NotificationDeliveryError as error:
                failed += 1
                now = self._clock.now()
                attempts = message.attempts + 1
                outcome = evolve(
                    message,
                    attempts=attempts,
                    next_attempt_at=now + self.policy.retry_delay(attempts),
                    last_error=f"{error.code}: {str(error)[:200]}",
                )
            else:
                sent += 1
                outcome = evolve(message, attempts=message.attempts + 1, sent_at=self._clock.now())
            with self._uow() as uow:
                uow.outbox.save(outcome)
                uow.commit()
        with self._uow() as uow:
            pending = uow.outbox.pending_count()
        return DispatchReport(sent=sent, failed=failed, pending=pending)

    # ==================================================================================
    # Internals
    # ==================================================================================

    def _retrying(self, run: Callable[[], T]) -> T:
        """A conflict (two writers raced) re-runs the whole use case on fresh state."""
        for _ in range(_CONFLICT_RETRIES - 1):
            try:
                return run()
            except ConflictError:
                continue
        return run()

    def _record(self, uow: UnitOfWork, *transitions: Transition[object]) -> None:
        for transition in transitions:
            uow.events.append(transition.events)

    def _parse_pair(self, siret: str, contract_number: str) -> tuple[Siret, ContractNumber]:
        form = FormParser()
        parsed_siret = form.field("siret", Siret.parse, siret)
        number = form.field("numero_contrat", ContractNumber.parse, contract_number)
        form.done()
        assert parsed_siret is not None and number is not None
        return parsed_siret, number

    def _establishment_for_pair(self, siret: Siret, number: ContractNumber) -> Establishment:
        """Rules E2, E4: one generic error for a wrong pair; closed ones refused."""
        contract = self._contracts.contract(siret, number)
        establishment = self._registry.establishment(siret) if contract else None
        if establishment is None:
            raise UnknownEstablishmentError()
        check_eligibility(establishment, has_contract=True, policy=self.policy)
        return establishment

    @staticmethod
    def _administrator_names(uow: UnitOfWork, siret: Siret) -> tuple[str, ...]:
        return tuple(
            a.holder.display_name
            for a in uow.accounts.of_establishment(siret)
            if a.is_administrator
        )

    def _new_identifier(self, uow: UnitOfWork, holder: Holder) -> Identifier:
        prefix = Identifier.prefix_for(holder.first_name.value, holder.last_name.value)
        return Identifier.build(prefix, uow.accounts.next_number(prefix))

    def _hash_new_password(self, password: str, confirmation: str) -> str:
        wrong_type = FieldError("password.type", "Ce champ doit être un texte.")
        if not isinstance(password, str):
            raise ValidationError({"mot_de_passe": wrong_type})
        if not isinstance(confirmation, str):
            raise ValidationError({"confirmation_mot_de_passe": wrong_type})
        check = check_password(password, confirmation)
        if not check.ok:
            fields: dict[str, FieldError] = {}
            rules = [r for r in check.unmet if r.name != "CONFIRMATION"]
            if rules:
                fields["mot_de_passe"] = FieldError("password.rules", check.message)
            if len(rules) < len(check.unmet):
                fields["confirmation_mot_de_passe"] = FieldError(
                    "password.confirmation",
                    "La confirmation doit être identique au mot de passe.",
                )
            raise ValidationError(fields)
        return self._hasher.hash(password)

    def _usable_link(self, token: str, *purposes: LinkPurpose) -> Link:
        """Rule A8 at use: a hashed lookup, then a constant-time comparison."""
        with self._uow() as uow:
            now = self._clock.now()
            link = uow.links.by_hash(hash_token(token)) if _plausible(token) else None
            if link is None or link.purpose not in purposes or not link.matches(token):
                raise LinkNoLongerValidError()
            if not link.usable(now):
                account = uow.accounts.get(link.identifier)
                # Enforced at use, not only by the sweep (T1).
                if (
                    account is not None
                    and link.purpose is LinkPurpose.PASSWORD_CREATION
                    and self._enforce_deadlines(uow, account, now) is not account
                ):
                    uow.commit()
                raise LinkNoLongerValidError(self._administrator_names(uow, link.siret))
            return link

    def _consume_link(
        self, uow: UnitOfWork, token: str, purpose: LinkPurpose, now: datetime
    ) -> tuple[Link, Account]:
        link = uow.links.by_hash(hash_token(token))
        if link is None or link.purpose is not purpose or not link.usable(now):
            raise LinkNoLongerValidError(self._administrator_names(uow, link.siret) if link else ())
        account = uow.accounts.get(link.identifier)
        if account is None or account.state.is_closed:
            raise LinkNoLongerValidError(self._administrator_names(uow, link.siret))
        return link, account

    def _issue_link(
        self,
        uow: UnitOfWork,
        account: Account,
        purpose: LinkPurpose,
        now: datetime,
        expires_at: datetime,
    ) -> SealedLink:
        """Rule A8: a new link of a purpose revokes the older ones of the same account."""
        # An account created by this very use case (never stored: version 0) has no
        # older link, and its identifier was never given before (A1): no lookup.
        if account.version:
            for older in uow.links.of_account(account.identifier, purpose):
                if older.used_at is None and older.revoked_at is None:
                    uow.links.save(older.revoke(now))
        nonce = self._random.token_bytes(32).hex()
        token = self._secret.token_for(nonce)
        uow.links.save(
            Link(
                token_hash=hash_token(token),
                purpose=purpose,
                identifier=account.identifier,
                siret=account.siret,
                created_at=now,
                expires_at=expires_at,
            )
        )
        uow.events.append(
            (
                LinkIssued(
                    at=now,
                    siret=account.siret.value,
                    account=account.identifier.value,
                    actor=Actor.SYSTEM,
                    purpose=purpose.value,
                    expires_at=expires_at,
                ),
            )
        )
        return SealedLink(purpose=purpose, nonce=nonce, expires_at=expires_at)

    def _revoke_links(
        self,
        uow: UnitOfWork,
        identifier: Identifier,
        now: datetime,
        purposes: tuple[LinkPurpose, ...] = tuple(LinkPurpose),
    ) -> None:
        for purpose in purposes:
            for link in uow.links.of_account(identifier, purpose):
                if link.usable(now):
                    uow.links.save(link.revoke(now))

    def _send_creation_link(
        self,
        uow: UnitOfWork,
        account: Account,
        establishment: Establishment | None,
        now: datetime,
        enrolment: Enrolment | None,
        *,
        created_by: str | None = None,
    ) -> None:
        """Rules C5, C3, R5: the password-creation e-mail; the 15 days restart with it."""
        expires_at = now + self.policy.creation_link_validity
        sealed = self._issue_link(uow, account, LinkPurpose.PASSWORD_CREATION, now, expires_at)
        if account.activation_deadline != expires_at:
            account = evolve(account, activation_deadline=expires_at)
            uow.accounts.update(account)
        withdrawal = None
        if enrolment is not None and enrolment.applicant == account.identifier:
            assert enrolment.access_from is not None
            withdrawal = self._issue_link(
                uow, account, LinkPurpose.WITHDRAWAL_BY_APPLICANT, now, enrolment.access_from
            )
        days = self.policy.creation_link_validity.days
        email = self._email(
            EmailKind.PASSWORD_CREATION,
            account,
            establishment,
            link=sealed,
            facts=(("validity_days", str(days)),)
            + ((("created_by", created_by),) if created_by else ()),
        )
        self._owe(uow, evolve(email, withdrawal=withdrawal), now)

    def _send_enrolment_letter(
        self,
        uow: UnitOfWork,
        establishment: Establishment,
        applicant: Account,
        now: datetime,
        enrolment: Enrolment | None,
    ) -> None:
        """Rule M2: a letter to the legal representative on every enrolment."""
        representative = self._contracts.legal_representative(establishment.siret)
        if representative is not None:
            name, title = representative.display_name, representative.title
            address = representative.address.lines()
        else:
            name, title = "Représentant légal", ""
            address = establishment.address.lines() if establishment.address else ()
        withdrawal = None
        deadline = None
        if enrolment is not None:
            deadline = enrolment.access_from
            assert deadline is not None
            withdrawal = self._issue_link(
                uow, applicant, LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE, now, deadline
            )
        letter = LetterNotification(
            kind=LetterKind.CLASSIC_ENROLMENT
            if enrolment
            else LetterKind.NET_ENTREPRISES_ENROLMENT,
            siret=establishment.siret.value,
            designation=establishment.designation,
            recipient_name=name,
            recipient_title=title,
            recipient_address=(establishment.designation, *address),
            applicant_name=applicant.holder.formal_name,
            applicant_function=applicant.holder.service_function.value,
            applicant_email=applicant.holder.email.value,
            registered_at=now,
            withdrawal_deadline=deadline,
            withdrawal=withdrawal,
        )
        self._owe(uow, letter, now)

    def _email(
        self,
        kind: EmailKind,
        account: Account,
        establishment: Establishment | None,
        *,
        link: SealedLink | None = None,
        facts: tuple[tuple[str, str], ...] = (),
    ) -> EmailNotification:
        return EmailNotification(
            kind=kind,
            to=account.holder.email.value,
            recipient=account.holder.formal_name,
            siret=account.siret.value,
            designation=establishment.designation if establishment else account.siret.value,
            identifier=account.identifier.value,
            facts=facts,
            link=link,
        )

    def _owe(self, uow: UnitOfWork, notification: Notification, now: datetime) -> None:
        uow.outbox.add(
            OutboxMessage(
                id=self._random.token_bytes(16).hex(),
                siret=notification.siret,
                created_at=now,
                notification=notification,
                next_attempt_at=now,
            )
        )

    def _open_access(
        self, uow: UnitOfWork, enrolment: Enrolment, applicant: Account, now: datetime
    ) -> None:
        """Rule C8: day J, password created, not withdrawn → enrolled; the access e-mail."""
        opened = enrolment.open_access(at=now)
        uow.enrolments.update(opened.state)
        uow.accounts.update(applicant.restart_lifetime(at=now, policy=self.policy))
        self._revoke_links(  # the withdrawal window is over; a reset link stays good
            uow,
            applicant.identifier,
            now,
            (LinkPurpose.WITHDRAWAL_BY_APPLICANT, LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE),
        )
        self._record(uow, opened)
        assert enrolment.submitted_at is not None
        self._owe(
            uow,
            self._email(
                EmailKind.ACCESS_OPEN,
                applicant,
                self._registry.establishment(enrolment.siret),
                facts=(
                    ("registered_on", local_date(enrolment.submitted_at)),
                    ("login_url", self._base_url + "/"),
                ),
            ),
            now,
        )

    def _lapses(self, uow: UnitOfWork, account: Account) -> bool:
        """Whether deleting this pending account lapses its establishment's registration."""
        if account.state is not AccountState.PENDING_ACTIVATION:
            return False
        enrolment = uow.enrolments.get(account.siret)
        return (
            enrolment is not None
            and enrolment.state is EnrolmentState.PENDING
            and enrolment.applicant == account.identifier
        )

    def _current_enrolment(self, uow: UnitOfWork, siret: Siret, now: datetime) -> Enrolment | None:
        """The enrolment as it stands at ``now``: a pending registration whose creation
        link expired unused lapses here and now, committed, without waiting for the
        sweep (C6, T1)."""
        enrolment = uow.enrolments.get(siret)
        if enrolment is None or enrolment.state is not EnrolmentState.PENDING:
            return enrolment
        assert enrolment.applicant is not None
        applicant = uow.accounts.get(enrolment.applicant)
        if applicant is None or self._enforce_deadlines(uow, applicant, now) is applicant:
            return enrolment
        uow.commit()
        return uow.enrolments.get(siret)

    def _enforce_deadlines(self, uow: UnitOfWork, account: Account, now: datetime) -> Account:
        """Rules C6, A7, T1: what is past its deadline changes state now (no commit here)."""
        deadline = account.deadline
        if deadline is None or now < deadline:
            return account
        if account.state is AccountState.PENDING_ACTIVATION:
            deleted = account.delete(at=now, actor=Actor.SYSTEM, reason="creation_link_expired")
            uow.accounts.update(deleted.state)
            self._revoke_links(uow, account.identifier, now)
            self._record(uow, deleted)
            enrolment = uow.enrolments.get(account.siret)
            if (
                enrolment is not None
                and enrolment.state is EnrolmentState.PENDING
                and enrolment.applicant == account.identifier
            ):
                lapsed = enrolment.lapse(at=now)
                uow.enrolments.update(lapsed.state)
                self._record(uow, lapsed)
            return deleted.state
        expired = account.expire(at=now)
        uow.accounts.update(expired.state)
        self._record(uow, expired)
        return expired.state

    def _administrator(self, uow: UnitOfWork, actor: str) -> Account:
        """Rule R6: only an active administrator of an enrolled establishment administers."""
        try:
            identifier = Identifier.parse(actor)
        except ValueError:
            raise PermissionDeniedError() from None
        admin = uow.accounts.get(identifier)
        if admin is None or admin.profile is not Profile.ADMINISTRATOR:
            raise PermissionDeniedError()
        enforced = self._enforce_deadlines(uow, admin, self._clock.now())
        if enforced is not admin:
            uow.commit()  # the expiry stands even though the action is refused (T1)
        if enforced.state is not AccountState.ACTIVE:
            raise PermissionDeniedError()
        enrolment = uow.enrolments.get(admin.siret)
        if enrolment is None or enrolment.state is not EnrolmentState.ENROLLED:
            raise PermissionDeniedError()
        return admin

    def _administer(
        self,
        actor: str,
        target: str,
        change: Callable[[Account, Account, datetime], Transition[Account]],
        *,
        guards_last_administrator: bool = False,
    ) -> None:
        """Rules R5, R6, E5: one administrator action on one account of their establishment."""
        try:
            target_id = Identifier.parse(target)
        except ValueError:
            raise AccountNotFoundError() from None

        def run() -> None:
            with self._uow() as uow:
                now = self._clock.now()
                admin = self._administrator(uow, actor)
                account = uow.accounts.get(target_id)
                if account is None:
                    raise AccountNotFoundError()
                if account.siret != admin.siret:
                    raise PermissionDeniedError()
                changed = change(account, admin, now)
                if guards_last_administrator and account.is_administrator:
                    # A pending administrator does not count: C6 may delete it (E5).
                    others = [
                        a
                        for a in uow.accounts.of_establishment(admin.siret)
                        if a.is_administrator
                        and a.state is not AccountState.PENDING_ACTIVATION
                        and a.identifier != account.identifier
                    ]
                    if not changed.state.is_administrator and not others:
                        raise LastAdministratorError()
                if changed.state is account:
                    return
                if changed.state.state.is_closed:
                    self._revoke_links(uow, account.identifier, now)
                uow.accounts.update(changed.state)
                self._record(uow, changed)
                uow.commit()

        self._retrying(run)

    def _net_entreprises_account(
        self, uow: UnitOfWork, siret: Siret, last_name: PersonName, first_name: PersonName
    ) -> Account | None:
        for account in uow.accounts.of_establishment(siret):
            if (
                account.net_entreprises
                and account.state is not AccountState.DELETED
                and account.holder.last_name.matches(last_name)
                and account.holder.first_name.matches(first_name)
            ):
                return account
        return None

    def _net_entreprises_login(
        self, uow: UnitOfWork, account: Account, now: datetime
    ) -> NetEntreprisesLoggedIn:
        """Rule N6: an existing Net-Entreprises account signs in (A7 applies)."""
        account = self._enforce_deadlines(uow, account, now)
        if account.state is not AccountState.ACTIVE:
            uow.commit()
            raise AccountStateForbidsLoginError()
        logged = account.record_login(at=now, policy=self.policy)
        uow.accounts.update(logged.state)
        self._record(uow, logged)
        uow.commit()
        return NetEntreprisesLoggedIn(
            identifier=account.identifier.value,
            siret=account.siret.value,
            profile=account.profile.value,
        )

    def _ticket(
        self, siret: Siret, last_name: PersonName, first_name: PersonName, expires_at: datetime
    ) -> str:
        payload = "\x1f".join(
            (siret.value, last_name.value, first_name.value, str(int(expires_at.timestamp())))
        )
        encoded = base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")
        return f"{encoded}.{self._secret.sign(payload)}"

    def _read_ticket(self, ticket: str) -> tuple[Siret, PersonName, PersonName]:
        if not isinstance(ticket, str) or not ticket.isascii():
            raise NetEntreprisesTicketInvalidError()
        try:
            encoded, signature = ticket.split(".")
            raw = base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True)
            payload = raw.decode("utf-8")
            if not self._secret.verify(payload, signature):
                raise NetEntreprisesTicketInvalidError()
            siret, last, first, expiry = payload.split("\x1f")
            if self._clock.now().timestamp() >= int(expiry):
                raise NetEntreprisesTicketInvalidError()
            return Siret.parse(siret), PersonName.parse(last), PersonName.parse(first)
        except (ValueError, AttributeError, binascii.Error, UnicodeError):
            raise NetEntreprisesTicketInvalidError() from None

    def _login_result(self, account: Account) -> LoginSucceededResult:
        assert account.expires_at is not None
        rights = []
        for service in self.policy.services:
            level = account.level(service.code)
            rights.append(
                AccessLevelView(
                    service=service.code,
                    label=service.label,
                    level=level.value,
                    level_label=level.label,
                )
            )
        return LoginSucceededResult(
            identifier=account.identifier.value,
            siret=account.siret.value,
            profile=account.profile.value,
            rights=tuple(rights),
            expires_at=account.expires_at,
        )

    def _deliver(self, message: OutboxMessage) -> None:
        notification = message.notification
        if isinstance(notification, EmailNotification):
            link_url = self._url(notification.link)
            if notification.withdrawal is not None:
                notification = evolve(
                    notification,
                    facts=(
                        *notification.facts,
                        ("withdrawal_url", self._url(notification.withdrawal) or ""),
                    ),
                )
            email = self._renderer.render(notification, message_id=message.id, link_url=link_url)
            self._mailer.send(email)
            return
        code = (
            self._secret.token_for(notification.withdrawal.nonce)
            if notification.withdrawal
            else None
        )
        url = self._url(notification.withdrawal)
        self._letters.send(
            Letter(
                letter_id=message.id,
                kind=notification.kind,
                siret=notification.siret,
                designation=notification.designation,
                recipient_name=notification.recipient_name,
                recipient_title=notification.recipient_title,
                recipient_address=notification.recipient_address,
                applicant_name=notification.applicant_name,
                applicant_function=notification.applicant_function,
                applicant_email=notification.applicant_email,
                registered_at=notification.registered_at,
                withdrawal_deadline=notification.withdrawal_deadline,
                withdrawal_code=code,
                withdrawal_url=url,
                text=letter_text(notification, withdrawal_url=url),
            )
        )

    def _url(self, sealed: SealedLink | None) -> str | None:
        if sealed is None:
            return None
        token = self._secret.token_for(sealed.nonce)
        return f"{self._base_url}{LINK_PATHS[sealed.purpose]}?jeton={token}"


def _is_text(value: object, max_length: int) -> bool:
    """A str that UTF-8 can carry (no lone surrogate), of bounded length."""
    if not isinstance(value, str) or len(value) > max_length:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plausible(token: object) -> bool:
    return isinstance(token, str) and 16 <= len(token) <= 128


def _not_pending(enrolment: Enrolment | None) -> OnboardingError:
    state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
    if state is EnrolmentState.ENROLLED:
        return EstablishmentAlreadyEnrolledError()
    if state is EnrolmentState.PENDING:
        return RegistrationInProgressError()
    return TransitionNotAllowedError(state.value, "resend_creation_link")
