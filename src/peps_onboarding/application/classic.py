"""The classic registration (rules C1–C9): step 1, steps 2 and 3, the password-creation
link, the resend, and the withdrawal. Each use case is one unit of work, committed once."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from ..domain.account import Account, AccountState, Profile
from ..domain.deadlines import access_opening_due
from ..domain.errors import (
    CaptchaFailedError,
    EstablishmentAlreadyEnrolledError,
    FieldError,
    LinkNoLongerValidError,
    OnboardingError,
    RegistrationInProgressError,
    StepOneRequiredError,
    TransitionNotAllowedError,
    UnknownEstablishmentError,
    ValidationError,
)
from ..domain.establishment import Enrolment, EnrolmentState, Establishment, check_eligibility
from ..domain.events import Actor
from ..domain.links import LinkPurpose
from ..domain.notifications import EmailKind
from ..domain.password import PasswordRule, check_password
from ..domain.values import ContractNumber, Siret
from ..domain.wording import WITHDRAWN_BY_APPLICANT, WITHDRAWN_BY_LEGAL_REPRESENTATIVE
from .commands import ClassicRegistration, EstablishmentIdentification
from .dependencies import Dependencies, retrying
from .forms import TERMS_REQUIRED, FormParser, parse_holder
from .members import (
    administrator_names,
    apply_deadlines,
    current_enrolment,
    found_link,
    membership,
    new_identifier,
    open_access,
    save_member,
    usable_link,
    withdrawal_link,
)
from .notices import email, owe, record, revoke_links, send_creation_link, send_enrolment_letter
from .results import (
    CreationLinkResent,
    EstablishmentAlreadyEnrolled,
    EstablishmentNotEnrolled,
    IdentificationResult,
    PasswordCreated,
    RegistrationPending,
    RegistrationSubmitted,
    RegistrationWithdrawnResult,
    password_created_message,
)
from .throttling import admit, source, target

__all__ = [
    "administrators",
    "create_password",
    "identify_establishment",
    "new_password_hash",
    "register",
    "resend_creation_link",
    "withdraw_registration",
]


_PROOF = "step1"  # what a step-1 proof's payload starts with, unlike any other ticket


def _proof(deps: Dependencies, siret: Siret, number: ContractNumber, now: datetime) -> str:
    """Rule C10: a signed, short-lived proof that this pair passed step 1."""
    expires = int((now + deps.policy.step_one_proof_validity).timestamp())
    payload = "\x1f".join((_PROOF, siret.value, number.value, str(expires)))
    encoded = base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{encoded}.{deps.secret.sign(payload)}"


def read_proof(deps: Dependencies, proof: object) -> tuple[Siret, ContractNumber]:
    """Rule C10: the pair a step-1 proof was given for, or :class:`StepOneRequiredError`
    (forged, altered, expired, or not a proof at all) before anything is looked up."""
    if not isinstance(proof, str) or not proof.isascii() or len(proof) > 512:
        raise StepOneRequiredError()
    try:
        encoded, signature = proof.split(".")
        padded = encoded + "=" * (-len(encoded) % 4)
        payload = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        if not deps.secret.verify(payload, signature):
            raise StepOneRequiredError()
        kind, siret, number, expires = payload.split("\x1f")
        if kind != _PROOF or deps.clock.now().timestamp() >= int(expires):
            raise StepOneRequiredError()
        return Siret.parse(siret), ContractNumber.parse(number)
    except (ValueError, binascii.Error, UnicodeError):
        raise StepOneRequiredError() from None


def establishment_for_pair(
    deps: Dependencies, siret: Siret, number: ContractNumber
) -> Establishment:
    """Rules E2, E4: one generic error for a wrong pair; closed ones refused."""
    contract = deps.contracts.contract(siret, number)
    establishment = deps.registry.establishment(siret) if contract else None
    if establishment is None:
        raise UnknownEstablishmentError()
    check_eligibility(establishment, has_contract=True, policy=deps.policy)
    return establishment


def identify_establishment(
    deps: Dependencies, command: EstablishmentIdentification, client: str | None = None
) -> IdentificationResult:
    """Rules C1, C2, C3, C10, E2, E4, P1: step 1 of the classic registration (a read); a
    pass hands back the proof the later steps require."""
    form = FormParser()
    siret = form.field("siret", Siret.parse, command.siret)
    number = form.field("numero_contrat", ContractNumber.parse, command.contract_number)
    if not isinstance(command.captcha_response, str) or not command.captcha_response.strip():
        form.fail("controle_securite", FieldError("required", "Ce champ est obligatoire."))
    form.done()
    assert siret is not None and number is not None
    limits = deps.policy.rate_limits
    admit(
        deps,
        target(deps, limits.identification_per_siret, "identification", siret.value),
        source(deps, limits.identification_per_source, "identification", client),
    )
    # The security check comes before any lookup: a failure says nothing (C1).
    challenge = command.captcha_challenge if isinstance(command.captcha_challenge, str) else ""
    if not deps.captcha.verify(challenge[:256], command.captcha_response[:256]):
        raise CaptchaFailedError()
    proof = _proof(deps, siret, number, deps.clock.now())
    with deps.unit_of_work() as uow:
        # Looked up inside the unit of work: a directory on the same database reads on
        # its connection (one connection per use case).
        establishment = establishment_for_pair(deps, siret, number)
        enrolment, lapsed = current_enrolment(uow, siret, deps.clock.now())
        if lapsed:
            uow.commit()  # the lapse found on the way stands (T1): this step's one commit
        state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
        if state is EnrolmentState.ENROLLED:
            names = administrator_names(uow, siret)
            return EstablishmentAlreadyEnrolled(
                siret=siret.value,
                designation=establishment.designation,
                proof=proof,
                administrators=names[: deps.policy.administrators_shown],
                administrator_count=len(names),
            )
    designation = establishment.designation
    if state is EnrolmentState.PENDING:
        return RegistrationPending(siret=siret.value, designation=designation, proof=proof)
    return EstablishmentNotEnrolled(siret=siret.value, designation=designation, proof=proof)


def administrators(deps: Dependencies, proof: str) -> tuple[str, ...]:
    """Rules R7, C2, C10: every administrator's name (never e-mail or phone), for a pair
    that passed step 1."""
    parsed_siret, number = read_proof(deps, proof)
    with deps.unit_of_work() as uow:
        establishment_for_pair(deps, parsed_siret, number)
        return administrator_names(uow, parsed_siret)


def _not_pending(enrolment: Enrolment | None, action: str) -> OnboardingError:
    state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
    if state is EnrolmentState.ENROLLED:
        return EstablishmentAlreadyEnrolledError()
    if state is EnrolmentState.PENDING:
        return RegistrationInProgressError()
    return TransitionNotAllowedError(state.value, action)


def resend_creation_link(
    deps: Dependencies, proof: str, client: str | None = None
) -> CreationLinkResent:
    """Rules C3, C10, P1: « Vous en envoyer un nouveau » — a new link replaces the old one
    (A8), for a pair that passed step 1."""
    parsed_siret, number = read_proof(deps, proof)
    limits = deps.policy.rate_limits
    admit(
        deps,
        target(deps, limits.creation_resend_per_siret, "resend", parsed_siret.value),
        source(deps, limits.creation_resend_per_source, "resend", client),
    )

    def run() -> CreationLinkResent:
        with deps.unit_of_work() as uow:
            establishment = establishment_for_pair(deps, parsed_siret, number)
            now = deps.clock.now()
            enrolment, lapsed = current_enrolment(uow, parsed_siret, now)
            if enrolment is None or enrolment.state is not EnrolmentState.PENDING:
                if lapsed:
                    uow.commit()  # the lapse found on the way stands (T1)
                raise _not_pending(enrolment, "resend_creation_link")
            assert enrolment.applicant is not None
            account = uow.accounts.get(enrolment.applicant)
            if account is None or account.state is not AccountState.PENDING_ACTIVATION:
                return CreationLinkResent(siret=parsed_siret.value, sent=False)
            send_creation_link(deps, uow, account, establishment, now, enrolment)
            uow.commit()
            return CreationLinkResent(siret=parsed_siret.value, sent=True)

    return retrying(run)


def register(deps: Dependencies, command: ClassicRegistration) -> RegistrationSubmitted:
    """Rules C4, C5, C10, E3, E6, A1, M2: steps 2 and 3 of the classic registration, on
    the pair step 1's proof names."""
    policy = deps.policy
    siret, number = read_proof(deps, command.proof)
    form = FormParser()
    holder = parse_holder(
        form,
        command.holder,
        test_emails=deps.accept_test_email_domains,
        smtputf8=policy.smtputf8_relay,
    )
    if command.terms_accepted is not True:
        form.fail("cgu", TERMS_REQUIRED)
    form.done()
    assert holder is not None

    def run() -> RegistrationSubmitted:
        with deps.unit_of_work() as uow:
            establishment = establishment_for_pair(deps, siret, number)
            now = deps.clock.now()
            enrolment = current_enrolment(uow, siret, now)[0] or Enrolment(siret=siret)
            if enrolment.state is not EnrolmentState.NOT_ENROLLED:
                raise _not_pending(enrolment, "register")
            identifier = new_identifier(uow, holder)
            submitted = enrolment.submit_classic(applicant=identifier, at=now, policy=policy)
            access_from = submitted.state.access_from
            assert access_from is not None
            if enrolment.version == 0:
                uow.enrolments.add(submitted.state)  # E6: the key refuses a second one
            else:
                uow.enrolments.update(submitted.state)
            record(uow, submitted)
            created = Account.create(
                identifier=identifier,
                siret=siret,
                profile=Profile.ADMINISTRATOR,
                holder=holder,
                at=now,
                policy=policy,
                actor=identifier.value,
                expires_at=policy.expiry_from(access_from),
            )
            account = save_member(uow, None, created)
            send_creation_link(deps, uow, account, establishment, now, submitted.state)
            send_enrolment_letter(deps, uow, establishment, account, now, submitted.state)
            uow.commit()
        return RegistrationSubmitted(
            siret=siret.value,
            designation=establishment.designation,
            identifier=identifier.value,
            identifier_spelled=identifier.spelled,
            access_from=access_from.astimezone(policy.zone).date(),
        )

    return retrying(run)


def new_password_hash(deps: Dependencies, password: object, confirmation: object) -> str:
    """Rule A3: every unmet rule as a field error, else the new password's hash."""
    wrong_type = FieldError("password.type", "Ce champ doit être un texte.")
    if not isinstance(password, str):
        raise ValidationError({"mot_de_passe": wrong_type})
    if not isinstance(confirmation, str):
        raise ValidationError({"confirmation_mot_de_passe": wrong_type})
    check = check_password(password, confirmation)
    if not check.ok:
        fields: dict[str, FieldError] = {}
        if any(rule is not PasswordRule.CONFIRMATION for rule in check.unmet):
            fields["mot_de_passe"] = FieldError("password.rules", check.password_message)
        if check.confirmation_message is not None:
            fields["confirmation_mot_de_passe"] = FieldError(
                "password.confirmation", check.confirmation_message
            )
        raise ValidationError(fields)
    return deps.hasher.hash(password)


def refuse_dead_link(
    deps: Dependencies, token: object, *purposes: LinkPurpose, record_lapse: bool = True
) -> None:
    """Rules A8, C6, T1: before any hashing, a link that cannot be used is refused; an
    expired creation link deletes its pending account now (the one commit of the use
    case that found it) rather than at the next sweep. With ``record_lapse=False`` (W2:
    a page opened from an e-mail reads only) the deletion is applied inside the unit of
    work, so the lapsed applicant is not named as an administrator, and never committed."""

    def run() -> None:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            link = found_link(uow, token, purposes)
            if link.usable(now):
                return
            account = uow.accounts.get(link.identifier)
            if (
                account is not None
                and link.purpose is LinkPurpose.PASSWORD_CREATION
                and apply_deadlines(uow, account, now) is not account
                and record_lapse
            ):
                uow.commit()
            raise LinkNoLongerValidError(administrator_names(uow, link.siret))

    retrying(run)


def create_password(
    deps: Dependencies, token: str, password: str, confirmation: str
) -> PasswordCreated:
    """Rules C6, C7, C8, A3, A8: the password-creation link, used once."""
    refuse_dead_link(deps, token, LinkPurpose.PASSWORD_CREATION)
    password_hash = new_password_hash(deps, password, confirmation)

    def run() -> PasswordCreated:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            link, account = usable_link(uow, token, (LinkPurpose.PASSWORD_CREATION,), now)
            uow.links.update(link.use(now).state)  # versioned: one use commits (A8)
            account = save_member(
                uow, account, account.activate(password_hash=password_hash, at=now)
            )
            enrolment = uow.enrolments.get(account.siret)
            access_from, access_open = now, True
            if enrolment is not None and enrolment.state is EnrolmentState.PENDING:
                assert enrolment.access_from is not None
                access_from = enrolment.access_from
                access_open = now >= access_from
                if access_opening_due(enrolment, account, now):
                    # Created after day J: access opens at once (C8).
                    open_access(deps, uow, enrolment, account, now)
            uow.commit()
        day = access_from.astimezone(deps.policy.zone).date()
        return PasswordCreated(
            identifier=account.identifier.value,
            access_from=day,
            access_open=access_open,
            message=password_created_message(day, access_open=access_open),
        )

    return retrying(run)


def withdraw_registration(
    deps: Dependencies, code: str, *, client: str | None = None
) -> RegistrationWithdrawnResult:
    """Rules C9, P4, P1: the legal representative (the code in the letter) or the applicant
    (the link in the e-mail) withdraws a pending registration until access actually opens:
    on day J when the password was created before, else while it is not created, up to
    the 15 days' lapse (C6). Once access has opened or is due, « Ce lien n'est plus
    valide ». ``client``: the client's address, for the per-source limit."""
    # P1 before any lookup: a code has 60 bits, so guessing must cost sources, not time.
    limit = deps.policy.rate_limits.withdrawal_per_source
    admit(deps, source(deps, limit, "withdrawal", client))

    def run() -> RegistrationWithdrawnResult:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            link = withdrawal_link(deps, uow, code)
            account = uow.accounts.get(link.identifier)
            members = membership(uow, link.siret)
            enrolment = members.enrolment if members else None
            if account is not None and enrolment is not None:
                # What time decided and no sweep applied yet stands (T1), committed as
                # this refused use case's one commit: day J with a password opens access
                # (C8), 15 days without one lapse the registration (C6).
                if access_opening_due(enrolment, account, now):
                    open_access(deps, uow, enrolment, account, now)
                    uow.commit()
                    raise LinkNoLongerValidError(administrator_names(uow, link.siret))
                if apply_deadlines(uow, account, now) is not account:
                    uow.commit()
                    raise LinkNoLongerValidError(administrator_names(uow, link.siret))
            if (
                account is None
                or account.state.is_closed
                or not link.usable(now)
                or enrolment is None
                or enrolment.state is not EnrolmentState.PENDING
                or enrolment.applicant != account.identifier
            ):
                raise LinkNoLongerValidError(administrator_names(uow, link.siret))
            by_representative = link.purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE
            actor = Actor.LEGAL_REPRESENTATIVE if by_representative else account.identifier.value
            uow.links.update(link.use(now).state)
            withdrawn = enrolment.withdraw(at=now, actor=actor)
            uow.enrolments.update(withdrawn.state)
            record(uow, withdrawn)
            save_member(
                uow, account, account.delete(at=now, actor=actor, reason="registration_withdrawn")
            )
            revoke_links(uow, account.identifier, now)
            owe(
                deps,
                uow,
                email(
                    EmailKind.REGISTRATION_WITHDRAWN,
                    account,
                    deps.registry.establishment(account.siret),
                    # Who asked, as a code: the renderer words the sentence (M1).
                    facts=(
                        (
                            "withdrawn_by",
                            WITHDRAWN_BY_LEGAL_REPRESENTATIVE
                            if by_representative
                            else WITHDRAWN_BY_APPLICANT,
                        ),
                    ),
                ),
                now,
            )
            uow.commit()
        return RegistrationWithdrawnResult(
            siret=account.siret.value, by_legal_representative=by_representative
        )

    return retrying(run)
