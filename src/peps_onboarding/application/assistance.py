"""What the platform's support staff do for the accounts of any establishment (rule R9).

The support is the way out of dead ends an establishment cannot leave alone: when its
only administrator is expired or blocked, nobody in it may renew or unblock anyone
(R5, R6). An operator can renew an expired account (A7: the 18 months restart),
unblock a blocked one, and resend a password-creation link to an account still
« En attente d'activation » (C3: the first deadline holds). Nothing else: rights,
profiles and invalidation stay the establishment's administrators' (R5).

Who the operator is, the host decides: it authenticates its support staff and passes
the operator's name, which the library trusts as it trusts ``actor`` for
administrators. Every action needs a reason. Both are written into the audit trail
(L1): an :class:`~peps_onboarding.domain.events.AssistanceGiven` event carries the
reason, and it and the change's own event name the operator as
``operator:<name>`` (:meth:`~peps_onboarding.domain.events.Actor.operator`), which no
account identifier can be.

Each action is one unit of work, over the same transitions and membership helpers as
the administrators' (:func:`.administration.stage_member_change`), so the membership's
version guards it (E5) and a lost race is re-run (:func:`.dependencies.retrying`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime

from ..domain.account import Account, AccountState
from ..domain.errors import AccountNotFoundError, TransitionNotAllowedError
from ..domain.establishment import EnrolmentState
from ..domain.events import AccountCreated, Actor, AssistanceGiven
from ..domain.transition import Transition
from ..domain.values import Identifier, InvalidFieldError
from ..ports import UnitOfWork
from .administration import stage_member_change
from .dependencies import Dependencies, retrying
from .forms import FormParser
from .members import apply_deadlines, guard_membership, membership
from .notices import record, send_creation_link

__all__ = [
    "OPERATOR_FIELD",
    "REASON_FIELD",
    "REASON_MAX_LENGTH",
    "assist_renew",
    "assist_resend_creation_link",
    "assist_unblock",
    "parse_operator",
    "parse_reason",
]

OPERATOR_FIELD = "operateur"
REASON_FIELD = "motif"
# Long enough for a ticket number and a sentence or two; the audit trail is no file store.
REASON_MAX_LENGTH = 500

# Control, format (zero-width, bidirectional overrides), surrogate, private-use and
# unassigned characters, and line or paragraph separators: none belongs in one line of
# an audit trail, where it could hide or reorder what a reader sees.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# What an operator may change, with the change (the support acts for nobody's account:
# the operator's actor string stands where an administrator's identifier would).
Change = Callable[[Account, str, datetime], Transition[Account]]


def _free_text(raw: object, *, what: str, max_length: int) -> str:
    """One line of text as typed (only the ends trimmed), or a French field error."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidFieldError("required", f"{what} est obligatoire.")
    if not isinstance(raw, str):
        raise InvalidFieldError("type", "Ce champ doit être un texte.")
    too_long = InvalidFieldError(
        "text.too_long", f"{what} ne doit pas dépasser {max_length} caractères."
    )
    if len(raw) > 4 * max_length:  # bounded before any work: a hostile size costs nothing
        raise too_long
    text = unicodedata.normalize("NFC", raw).strip()
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in text):
        raise InvalidFieldError(
            "control_characters", f"{what} contient des caractères non autorisés."
        )
    if len(text) > max_length:
        raise too_long
    return text


def parse_reason(raw: object) -> str:
    """Rule R9: the mandatory reason, non-blank, at most :data:`REASON_MAX_LENGTH`
    characters, without control characters."""
    return _free_text(raw, what="Le motif", max_length=REASON_MAX_LENGTH)


def parse_operator(raw: object) -> str:
    """Rule R9: the operator's name as the host gives it, printable and short enough to
    be stored as the events' actor (:attr:`Actor.OPERATOR_MAX_LENGTH`)."""
    text = _free_text(raw, what="L'opérateur", max_length=Actor.OPERATOR_MAX_LENGTH)
    if not text.isprintable():  # e.g. a no-break space: a name must read as it is stored
        raise InvalidFieldError(
            "control_characters", "L'opérateur contient des caractères non autorisés."
        )
    return text


def _request(operator: object, reason: object, target: object) -> tuple[str, str, Identifier]:
    """Every field error at once (nothing is read or stored before), then the target."""
    form = FormParser()
    name = form.field(OPERATOR_FIELD, parse_operator, operator)
    why = form.field(REASON_FIELD, parse_reason, reason)
    form.done()
    assert name is not None and why is not None
    try:
        identifier = Identifier.parse(target)
    except ValueError:
        raise AccountNotFoundError() from None
    return Actor.operator(name), why, identifier


def _given(account: Account, actor: str, action: str, reason: str, at: datetime) -> AssistanceGiven:
    return AssistanceGiven(
        at=at,
        siret=account.siret.value,
        account=account.identifier.value,
        actor=actor,
        action=action,
        reason=reason,
    )


def _assist(
    deps: Dependencies,
    operator: object,
    target: object,
    reason: object,
    action: str,
    change: Change,
) -> None:
    """Rules R9, E5, T1: one change to one account of any establishment, with its reason."""
    actor, why, identifier = _request(operator, reason, target)

    def run() -> None:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            found = uow.accounts.get(identifier)
            members = membership(uow, found.siret) if found is not None else None
            if members is None:
                raise AccountNotFoundError()
            # Read again among the members, after the version that guards them (E5).
            account = next((a for a in members.accounts if a.identifier == identifier), None)
            if account is None:
                raise AccountNotFoundError()
            # Enforced when used (T1): an account past its expiration date is expired
            # now, so the operator's renewal applies to it in this same transaction.
            current = apply_deadlines(uow, account, now)
            try:
                changed = change(current, actor, now)
            except TransitionNotAllowedError:
                if current is not account:
                    uow.commit()  # what time decided stands: the refused action's one commit
                raise
            audited = Transition(
                changed.state, (_given(current, actor, action, why, now), *changed.events)
            )
            # A renewed or unblocked holder's password is checked again at once (A4).
            stage_member_change(uow, members, current, audited, now, frees_password_checks=True)
            uow.commit()

    retrying(run)


def assist_renew(deps: Dependencies, operator: str, target: str, reason: str) -> None:
    """Rules R9, A7: the support renews an expired account of any establishment; the 18
    months restart, and the account's password is checked again at once."""
    _assist(
        deps,
        operator,
        target,
        reason,
        AssistanceGiven.RENEW,
        lambda account, actor, now: account.renew(at=now, actor=actor, policy=deps.policy),
    )


def assist_unblock(deps: Dependencies, operator: str, target: str, reason: str) -> None:
    """Rules R9, A2: the support unblocks a blocked account of any establishment; its
    failed logins and password-check slots are freed."""
    _assist(
        deps,
        operator,
        target,
        reason,
        AssistanceGiven.UNBLOCK,
        lambda account, actor, now: account.unblock(at=now, actor=actor),
    )


def _created_by(uow: UnitOfWork, account: Account) -> str | None:
    """The administrator who created ``account`` (R5), for the e-mail's wording: their
    name, read from the account's creation event, or None (not created by an account)."""
    for event in uow.events.history(account.siret):
        if isinstance(event, AccountCreated) and event.account == account.identifier.value:
            try:
                creator = uow.accounts.get(Identifier.parse(event.actor))
            except ValueError:
                return None
            return creator.holder.formal_name if creator is not None else None
    return None


def assist_resend_creation_link(
    deps: Dependencies, operator: str, target: str, reason: str
) -> None:
    """Rules R9, C3, A8: the support resends the password-creation e-mail of an account
    « En attente d'activation » (a pending registration's applicant, or a user an
    administrator created). The new link replaces the old ones and never extends the 15
    days (:func:`.notices.send_creation_link`); an account whose 15 days are over is
    deleted (C6), and there is nothing left to resend."""
    actor, why, identifier = _request(operator, reason, target)

    def run() -> None:
        with deps.unit_of_work() as uow:
            now = deps.clock.now()
            account = uow.accounts.get(identifier)
            if account is None:
                raise AccountNotFoundError()
            # A deletion or a withdrawal committed meanwhile makes this commit fail, so no
            # link goes to an account that is no longer pending (the membership's version).
            guard_membership(uow, account.siret)
            current = apply_deadlines(uow, account, now)
            if current.state is not AccountState.PENDING_ACTIVATION:
                if current is not account:
                    uow.commit()  # the deletion found on the way stands (C6, T1)
                raise TransitionNotAllowedError(current.state.value, "resend_creation_link")
            enrolment = uow.enrolments.get(current.siret)
            applicant = (
                enrolment is not None
                and enrolment.state is EnrolmentState.PENDING
                and enrolment.applicant == current.identifier
            )
            given = _given(current, actor, AssistanceGiven.RESEND_CREATION_LINK, why, now)
            record(uow, Transition(current, (given,)))
            send_creation_link(
                deps,
                uow,
                current,
                deps.registry.establishment(current.siret),
                now,
                enrolment if applicant else None,
                created_by=None if applicant else _created_by(uow, current),
            )
            uow.commit()

    retrying(run)
