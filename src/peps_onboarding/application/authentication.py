"""Logins, forgotten password and forgotten identifier (rules A3–A7, C8, N6).

A password login is bounded per account (A4): before the slow hash comparison it takes
one of the account's ``max_failed_logins`` password-check slots, in a short transaction
of its own (like an identifier's number); a failure keeps its slot, a success, a reset,
an unblocking or a renewal frees them all. So however many logins race on one account,
at most ``max_failed_logins`` passwords are compared before the block, and the outcome
is then recorded in the login's one unit of work, retried on a conflict without
comparing the password again.
"""

from __future__ import annotations

from ..domain.account import Account, AccountState
from ..domain.errors import (
    AccessNotYetOpenError,
    AccountBlockedError,
    AccountStateForbidsLoginError,
    FieldError,
    IdentifierNotFoundError,
    InvalidCredentialsError,
    ValidationError,
)
from ..domain.establishment import EnrolmentState
from ..domain.links import LinkPurpose
from ..domain.notifications import PasswordResetRequest
from ..domain.password import PasswordCheck, check_password
from ..domain.values import EmailAddress, Identifier, PersonName, Siret
from .classic import new_password_hash, refuse_dead_link
from .commands import IdentifierRecovery
from .dependencies import Dependencies, retrying
from .forms import FormParser
from .members import apply_deadlines, open_access, rights_of, save_member, usable_link
from .notices import owe
from .results import (
    IdentifierRecovered,
    LoginSucceededResult,
    PasswordResetDone,
    PasswordResetRequested,
)
from .throttling import admit, count, refuse_if_spent, source, target

__all__ = [
    "check_new_password",
    "login",
    "recover_identifier",
    "request_password_reset",
    "reset_password",
]

# While every slot of an account is held by logins still comparing, a login waits for
# one of them to finish (a comparison takes well under a second), at most this long.
_SLOT_POLLS = 100
_SLOT_PAUSE = 0.02
_SETTLE_ATTEMPTS = 16


def check_new_password(password: object, confirmation: object | None = None) -> PasswordCheck:
    """Rule A3: every unmet rule, for a screen that keeps « Créer » disabled."""
    if not isinstance(password, str):
        raise ValidationError(
            {"mot_de_passe": FieldError("password.type", "Ce champ doit être un texte.")}
        )
    if confirmation is not None and not isinstance(confirmation, str):
        confirmation = "\x00"  # never equal to a password: the confirmation rule is unmet
    return check_password(password, confirmation)


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > 256:
        return ""  # matches no stored password; still costs one comparison
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return value


def login(
    deps: Dependencies, identifier: str, password: str, client: str | None = None
) -> LoginSucceededResult:
    """Rules A4, A7, C8, N6, P1, P3: identifier + password.

    Only failures count toward the rate limits, and a source or identifier past its limit
    is refused before anything is read or compared: such a login neither checks the
    password nor adds a failure to the account (P3)."""
    limits = deps.policy.rate_limits
    named = identifier if isinstance(identifier, str) else ""
    gates = (
        source(deps, limits.login_failures_per_source, "login", client),
        source(deps, limits.login_failures_per_source_and_identifier, "login", client, about=named),
    )
    refuse_if_spent(deps, *gates)
    try:
        return _login(deps, identifier, password)
    except (InvalidCredentialsError, AccountBlockedError):
        count(deps, *gates)
        raise


def _login(deps: Dependencies, identifier: str, password: str) -> LoginSucceededResult:
    try:
        parsed: Identifier | None = Identifier.parse(identifier)
    except ValueError:
        parsed = None
    password = _text(password)
    with deps.unit_of_work() as uow:
        account = uow.accounts.get(parsed) if parsed else None
    if (
        parsed is None
        or account is None
        or account.state.is_closed
        or account.net_entreprises
        or account.password_hash is None
    ):
        deps.hasher.verify(deps.dummy_hash, password)  # the same cost as a real check
        raise InvalidCredentialsError()
    if account.state is AccountState.BLOCKED:
        raise AccountBlockedError()
    _take_slot(deps, account)
    password_hash = account.password_hash
    matched = deps.hasher.verify(password_hash, password)
    # Logins racing on one account all write it; recording an outcome is cheap (the
    # password is not compared again), so it may take as many turns as there are racers.
    return retrying(
        lambda: _settle(deps, parsed, password, password_hash, matched=matched),
        attempts=_SETTLE_ATTEMPTS,
        pause=deps.pause,
    )


def _take_slot(deps: Dependencies, account: Account) -> None:
    """Rule A4: one of the account's password-check slots, or the outcome that says why
    none is free (blocked meanwhile; or, for an account that cannot be blocked, every
    slot spent on failures: no password is compared until renewal or reset)."""
    limit = deps.policy.max_failed_logins
    for _ in range(_SLOT_POLLS):
        with deps.unit_of_work() as uow:
            if uow.accounts.reserve_password_check(account.identifier, limit):
                return
            current = uow.accounts.get(account.identifier)
        if current is None or current.state is not AccountState.ACTIVE:
            if current is not None and current.state is AccountState.BLOCKED:
                raise AccountBlockedError()
            raise InvalidCredentialsError()
        deps.pause(_SLOT_PAUSE)  # slots held by logins still comparing: wait for one
    raise AccountBlockedError()


def _settle(
    deps: Dependencies,
    identifier: Identifier,
    password: str,
    password_hash: str,
    *,
    matched: bool,
) -> LoginSucceededResult:
    """The login's one unit of work: the comparison's outcome, and what time decided."""
    policy = deps.policy
    with deps.unit_of_work() as uow:
        now = deps.clock.now()
        read = uow.accounts.get(identifier)
        if read is None or read.state.is_closed or read.password_hash != password_hash:
            raise InvalidCredentialsError()  # reset or closed meanwhile: compared in vain
        if read.state is AccountState.BLOCKED:
            raise AccountBlockedError()
        account = apply_deadlines(uow, read, now)
        if not matched:
            if account.state is AccountState.ACTIVE:
                failed = account.record_failed_login(at=now, policy=policy)
                save_member(uow, account, failed)
                uow.commit()
                if failed.state.state is AccountState.BLOCKED:
                    raise AccountBlockedError()
            elif account is not read:
                uow.commit()  # the expiry stands even though this login fails (T1)
            raise InvalidCredentialsError()
        uow.accounts.release_password_checks(account.identifier)
        if account.state is not AccountState.ACTIVE:
            uow.commit()
            raise AccountStateForbidsLoginError()
        enrolment = uow.enrolments.get(account.siret)
        if enrolment is not None and enrolment.state is EnrolmentState.PENDING:
            assert enrolment.access_from is not None
            if now < enrolment.access_from or enrolment.applicant != account.identifier:
                uow.commit()
                raise AccessNotYetOpenError(enrolment.access_from.astimezone(policy.zone).date())
            # Day J came before the sweep: open access now (T1, C8).
            account = open_access(deps, uow, enrolment, account, now)
            enrolment = uow.enrolments.get(account.siret)
        if enrolment is None or enrolment.state is not EnrolmentState.ENROLLED:
            uow.commit()
            raise AccountStateForbidsLoginError()
        logged = account.record_login(at=now, policy=policy)
        account = save_member(uow, account, logged)
        if deps.hasher.needs_rehash(password_hash):
            account = account.rehash(password_hash=deps.hasher.hash(password))
            uow.accounts.update(account)
        uow.commit()
    return _login_result(deps, account)


def _login_result(deps: Dependencies, account: Account) -> LoginSucceededResult:
    assert account.expires_at is not None
    return LoginSucceededResult(
        identifier=account.identifier.value,
        siret=account.siret.value,
        profile=account.profile.value,
        rights=rights_of(deps, account),
        expires_at=account.expires_at,
    )


def request_password_reset(
    deps: Dependencies, identifier: str, client: str | None = None
) -> PasswordResetRequested:
    """Rules A5, P1, P2: the same answer, after the same work, whether or not the account
    exists: the request is recorded as asked, and the dispatcher resolves it into the
    reset e-mail (:func:`.housekeeping.resolve_password_reset`)."""
    try:
        parsed = Identifier.parse(identifier)
    except ValueError:
        return PasswordResetRequested()  # no account has such an identifier: nothing to do
    limits = deps.policy.rate_limits
    admit(
        deps,
        target(deps, limits.password_reset_per_identifier, "password_reset", parsed.value),
        source(deps, limits.password_reset_per_source, "password_reset", client),
    )

    def run() -> PasswordResetRequested:
        with deps.unit_of_work() as uow:
            owe(deps, uow, PasswordResetRequest(identifier=parsed.value), deps.clock.now())
            uow.commit()
        return PasswordResetRequested()

    return retrying(run)


def reset_password(
    deps: Dependencies, token: str, password: str, confirmation: str
) -> PasswordResetDone:
    """Rules A5, A3, A8: a new password, the link used once; a blocked account is unblocked."""
    refuse_dead_link(deps, token, LinkPurpose.PASSWORD_RESET)
    password_hash = new_password_hash(deps, password, confirmation)

    def run() -> PasswordResetDone:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            link, account = usable_link(uow, token, (LinkPurpose.PASSWORD_RESET,), now)
            was_blocked = account.state is AccountState.BLOCKED
            uow.links.update(link.use(now).state)  # versioned: one use commits (A8)
            save_member(uow, account, account.reset_password(password_hash=password_hash, at=now))
            uow.accounts.release_password_checks(account.identifier)
            uow.commit()
        return PasswordResetDone(identifier=account.identifier.value, unblocked=was_blocked)

    return retrying(run)


def recover_identifier(
    deps: Dependencies, command: IdentifierRecovery, client: str | None = None
) -> IdentifierRecovered:
    """Rules A6, P1: shown on screen when the details match exactly one account."""
    form = FormParser()
    siret = form.field("siret", Siret.parse, command.siret)
    last_name = form.field("nom", PersonName.parse, command.last_name)
    first_name = form.field("prenom", PersonName.parse, command.first_name)
    email_address = form.field(
        "courriel",
        lambda raw: EmailAddress.parse(raw, test_environment=deps.accept_test_email_domains),
        command.email,
    )
    form.done()
    assert siret and last_name and first_name and email_address
    limits = deps.policy.rate_limits
    admit(
        deps,
        target(deps, limits.identifier_recovery_per_email, "recovery", email_address.value),
        source(deps, limits.identifier_recovery_per_source, "recovery", client),
    )
    with deps.unit_of_work() as uow:
        matches = [
            a
            for a in uow.accounts.of_establishment(siret)
            if not a.state.is_closed
            and a.holder.last_name.matches(last_name)
            and a.holder.first_name.matches(first_name)
            and a.holder.email.same_as(email_address)
        ]
    if len(matches) != 1:
        raise IdentifierNotFoundError()
    return IdentifierRecovered(identifier=matches[0].identifier.value)
