"""The Net-Entreprises path (rules N1–N6): sign in, then complete the form once.

The sign-in ticket is signed and short-lived, and it is spent by the account it makes:
its hash is stored as a used link (:meth:`Link.spent_ticket
<peps_onboarding.domain.links.Link.spent_ticket>`), so of several completions racing on
one ticket one commits, and a replay is told the inscription is already recorded.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from ..domain.account import Account, AccountState, Profile
from ..domain.errors import (
    AccountStateForbidsLoginError,
    FieldError,
    NetEntreprisesAccountExistsError,
    NetEntreprisesTicketInvalidError,
    NetEntreprisesTicketUsedError,
    RegistrationInProgressError,
    UnknownSiretError,
)
from ..domain.establishment import Enrolment, EnrolmentState, Establishment, check_eligibility
from ..domain.links import Link, hash_token
from ..domain.membership import Membership
from ..domain.notifications import EmailKind
from ..domain.values import PersonName, Siret
from ..ports import UnitOfWork
from .commands import NetEntreprisesCompletion, NetEntreprisesCredentials
from .dependencies import Dependencies, retrying
from .forms import FormParser, parse_net_entreprises_holder
from .members import apply_deadlines, current_enrolment, membership, new_identifier, save_member
from .notices import email, owe, record, send_enrolment_letter
from .results import (
    NetEntreprisesJoined,
    NetEntreprisesLoggedIn,
    NetEntreprisesSignedIn,
    NetEntreprisesSignInResult,
)
from .throttling import admit, source, target

__all__ = ["complete_net_entreprises", "sign_in_with_net_entreprises"]


def _is_text(value: object, max_length: int) -> bool:
    """A str that UTF-8 can carry (no lone surrogate), of bounded length."""
    if not isinstance(value, str) or len(value) > max_length:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _eligible_establishment(deps: Dependencies, siret: Siret) -> Establishment:
    """Rules N2, E4. Asked only once Net-Entreprises vouched for the person on this SIRET
    (N1), so an unknown SIRET may be said to be one: of the SIRET alone, since this path
    asks no contract number (never the classic path's « ce SIRET et ce numéro de
    contrat »)."""
    establishment = deps.registry.establishment(siret)
    if establishment is None:
        raise UnknownSiretError()
    check_eligibility(
        establishment, has_contract=deps.contracts.has_contract(siret), policy=deps.policy
    )
    return establishment


def _existing_account(
    accounts: tuple[Account, ...], last_name: PersonName, first_name: PersonName
) -> Account | None:
    for account in accounts:
        if (
            account.net_entreprises
            and account.state is not AccountState.DELETED
            and account.holder.last_name.matches(last_name)
            and account.holder.first_name.matches(first_name)
        ):
            return account
    return None


def sign_in_with_net_entreprises(
    deps: Dependencies, credentials: NetEntreprisesCredentials, client: str | None = None
) -> NetEntreprisesSignInResult:
    """Rules N1, N2, N5, N6, E4, P1: check the credentials, then the establishment."""
    form = FormParser()
    siret = form.field("siret", Siret.parse, credentials.siret)
    last_name = form.field("nom", PersonName.parse, credentials.last_name)
    first_name = form.field("prenom", PersonName.parse, credentials.first_name)
    password = credentials.password
    if not _is_text(password, 256) or not password:
        form.fail("mot_de_passe", FieldError("required", "Ce champ est obligatoire."))
    form.done()
    assert siret is not None and last_name is not None and first_name is not None
    limits = deps.policy.rate_limits
    person = "\x1f".join((siret.value, last_name.value, first_name.value))
    # Before the upstream check: each attempt is a password tried against Net-Entreprises.
    admit(
        deps,
        target(deps, limits.net_entreprises_per_person, "net_entreprises", person),
        source(deps, limits.net_entreprises_per_source, "net_entreprises", client),
    )
    deps.net_entreprises.verify(
        siret=siret, last_name=last_name.value, first_name=first_name.value, password=password
    )
    establishment = _eligible_establishment(deps, siret)

    def run() -> NetEntreprisesSignInResult:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            enrolment, _ = current_enrolment(uow, siret, now)
            state = enrolment.state if enrolment else EnrolmentState.NOT_ENROLLED
            if state is EnrolmentState.PENDING:
                raise RegistrationInProgressError()
            accounts = tuple(uow.accounts.of_establishment(siret))
            existing = _existing_account(accounts, last_name, first_name)
            if existing is not None:
                return _log_in(deps, uow, existing, now)
        expires_at = now + deps.policy.net_entreprises_ticket_validity
        profile = Profile.USER if state is EnrolmentState.ENROLLED else Profile.ADMINISTRATOR
        return NetEntreprisesSignedIn(
            ticket=_ticket(deps, siret, last_name, first_name, expires_at, now),
            ticket_expires_at=expires_at,
            siret=siret.value,
            designation=establishment.designation,
            last_name=last_name.value,
            first_name=first_name.value,
            profile=profile.value,
        )

    return retrying(run)


def _log_in(
    deps: Dependencies, uow: UnitOfWork, account: Account, now: datetime
) -> NetEntreprisesLoggedIn:
    """Rule N6: an existing Net-Entreprises account signs in (A7 applies)."""
    account = apply_deadlines(uow, account, now)
    if account.state is not AccountState.ACTIVE:
        uow.commit()  # an expiry found here stands: this sign-in's one commit
        raise AccountStateForbidsLoginError()
    logged = account.record_login(at=now, policy=deps.policy)
    save_member(uow, account, logged)
    uow.commit()
    return NetEntreprisesLoggedIn(
        identifier=account.identifier.value,
        siret=account.siret.value,
        profile=account.profile.value,
    )


def complete_net_entreprises(
    deps: Dependencies, command: NetEntreprisesCompletion
) -> NetEntreprisesJoined:
    """Rules N3 (enrolled → user account) and N4 (not enrolled → enrol, administrator)."""
    siret, last_name, first_name = _read_ticket(deps, command.ticket)
    spent = hash_token(command.ticket)
    form = FormParser()
    holder = parse_net_entreprises_holder(
        form,
        command.form,
        last_name=last_name,
        first_name=first_name,
        test_emails=deps.accept_test_email_domains,
        smtputf8=deps.policy.smtputf8_relay,
    )
    form.done()
    assert holder is not None
    establishment = _eligible_establishment(deps, siret)

    def run() -> NetEntreprisesJoined:
        with deps.unit_of_work() as uow:
            if uow.links.by_hash(spent) is not None:
                raise NetEntreprisesTicketUsedError()
            now = deps.clock.now()
            enrolment = current_enrolment(uow, siret, now)[0] or Enrolment(siret=siret)
            if enrolment.state is EnrolmentState.PENDING:
                raise RegistrationInProgressError()
            members = membership(uow, siret) or Membership(enrolment=enrolment, accounts=())
            if _existing_account(members.accounts, last_name, first_name):
                raise NetEntreprisesAccountExistsError()
            identifier = new_identifier(uow, holder)
            enrolled = enrolment.state is EnrolmentState.ENROLLED
            created = Account.create(
                identifier=identifier,
                siret=siret,
                profile=Profile.USER if enrolled else Profile.ADMINISTRATOR,
                holder=holder,
                at=now,
                policy=deps.policy,
                actor=identifier.value,
                net_entreprises=True,
            )
            if not enrolled:
                joined = enrolment.enrol_net_entreprises(applicant=identifier, at=now)
                if enrolment.version == 0:
                    uow.enrolments.add(joined.state)  # E6: the key refuses a second one
                else:
                    uow.enrolments.update(joined.state)
                record(uow, joined)
            account = save_member(uow, None, created)
            uow.links.add(
                Link.spent_ticket(token_hash=spent, identifier=identifier, siret=siret, at=now)
            )
            if enrolled:
                for admin in members.accounts:
                    if admin.is_administrator:
                        notification = email(
                            EmailKind.NEW_NET_ENTREPRISES_USER,
                            admin,
                            establishment,
                            facts=(
                                ("new_user", holder.formal_name),
                                ("new_user_identifier", identifier.value),
                            ),
                        )
                        owe(deps, uow, notification, now)
            else:
                send_enrolment_letter(deps, uow, establishment, account, now, None)
            uow.commit()
        return NetEntreprisesJoined(
            identifier=identifier.value,
            siret=siret.value,
            designation=establishment.designation,
            profile=created.state.profile.value,
        )

    return retrying(run)


def _ticket(
    deps: Dependencies,
    siret: Siret,
    last_name: PersonName,
    first_name: PersonName,
    expires_at: datetime,
    now: datetime,
) -> str:
    # A random part makes each sign-in's ticket its own: spending one never spends another.
    nonce = deps.random.token_bytes(16).hex()
    payload = "\x1f".join(
        (siret.value, last_name.value, first_name.value, str(int(expires_at.timestamp())), nonce)
    )
    encoded = base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")
    return f"{encoded}.{deps.secret.sign(payload)}"


def _read_ticket(deps: Dependencies, ticket: str) -> tuple[Siret, PersonName, PersonName]:
    if not isinstance(ticket, str) or not ticket.isascii() or len(ticket) > 2048:
        raise NetEntreprisesTicketInvalidError()
    try:
        encoded, signature = ticket.split(".")
        raw = base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True)
        payload = raw.decode("utf-8")
        if not deps.secret.verify(payload, signature):
            raise NetEntreprisesTicketInvalidError()
        siret, last, first, expiry, _nonce = payload.split("\x1f")
        if deps.clock.now().timestamp() >= int(expiry):
            raise NetEntreprisesTicketInvalidError()
        return Siret.parse(siret), PersonName.parse(last), PersonName.parse(first)
    except (ValueError, AttributeError, binascii.Error, UnicodeError):
        raise NetEntreprisesTicketInvalidError() from None
