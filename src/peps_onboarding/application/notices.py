"""What a use case owes the outside world, written in its own unit of work (rules M1–M4,
A8): links issued and revoked, e-mails and letters put in the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from attrs import evolve

from ..domain.account import Account
from ..domain.establishment import Enrolment, Establishment
from ..domain.links import Link, LinkPurpose, LinkStatus, hash_token
from ..domain.notifications import (
    EmailKind,
    EmailNotification,
    LetterKind,
    LetterNotification,
    Notification,
    OutboxMessage,
    SealedLink,
)
from ..domain.postal import address_block
from ..domain.transition import Transition
from ..domain.values import Identifier
from ..ports import UnitOfWork
from .dependencies import Dependencies
from .link_paths import LinkPaths
from .rendering import local_date

__all__ = [
    "LINK_PATHS",
    "LinkPaths",
    "email",
    "issue_link",
    "link_url",
    "owe",
    "record",
    "registration_deadline",
    "revoke_links",
    "send_creation_link",
    "send_enrolment_letter",
    "withdrawal_code",
]

#: The default paths, by purpose (kept for hosts that read them).
LINK_PATHS = {
    purpose: LinkPaths().of(purpose)
    for purpose in (
        LinkPurpose.PASSWORD_CREATION,
        LinkPurpose.PASSWORD_RESET,
        LinkPurpose.WITHDRAWAL_BY_APPLICANT,
        LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE,
    )
}


def record(uow: UnitOfWork, *transitions: Transition[object]) -> None:
    """Rule L1: the events of each transition, in order."""
    for transition in transitions:
        uow.events.append(transition.events)


def owe(deps: Dependencies, uow: UnitOfWork, notification: Notification, now: datetime) -> None:
    """Rule M3: the notification is written with the change that causes it."""
    uow.outbox.add(
        OutboxMessage(
            id=deps.random.token_bytes(16).hex(),
            siret=notification.siret,
            created_at=now,
            notification=notification,
            next_attempt_at=now,
        )
    )


def email(
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
        civility=account.holder.civility,  # the agreement of the text (M1)
    )


def revoke_links(
    uow: UnitOfWork,
    identifier: Identifier,
    now: datetime,
    purposes: Iterable[LinkPurpose] = tuple(LinkPurpose),
) -> None:
    """Rule A8: every link of these purposes still open is revoked."""
    for purpose in purposes:
        for link in uow.links.of_account(identifier, purpose):
            if link.status is LinkStatus.ISSUED:
                uow.links.update(link.revoke(now).state)


def issue_link(
    deps: Dependencies,
    uow: UnitOfWork,
    account: Account,
    purpose: LinkPurpose,
    now: datetime,
    expires_at: datetime,
) -> SealedLink:
    """Rule A8: a new link of a purpose revokes the older ones of the same account."""
    # An account created by this very use case (never stored: version 0) has no older
    # link, and its identifier was never given before (A1): no lookup.
    if account.version:
        revoke_links(uow, account.identifier, now, (purpose,))
    nonce = deps.secret.new_nonce(deps.random.token_bytes(32))  # tagged with its key
    if purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE:
        # P4: the letter's short code is typed, not clicked: a keyed hash at rest.
        token_hash = deps.secret.code_hash_for(nonce)
    else:
        token_hash = hash_token(deps.secret.token_for(nonce))
    issued = Link.issue(
        token_hash=token_hash,
        purpose=purpose,
        identifier=account.identifier,
        siret=account.siret,
        at=now,
        expires_at=expires_at,
    )
    uow.links.add(issued.state)
    record(uow, issued)
    return SealedLink(purpose=purpose, nonce=nonce, expires_at=expires_at)


def send_creation_link(
    deps: Dependencies,
    uow: UnitOfWork,
    account: Account,
    establishment: Establishment | None,
    now: datetime,
    enrolment: Enrolment | None,
    *,
    created_by: str | None = None,
) -> None:
    """Rules C5, C3, C6, R5: the password-creation e-mail.

    A registration's applicant has 15 days from the submission (C6), and « Vous en
    envoyer un nouveau » never extends them (C3): the new link ends when the first one
    would have, and so does the account's activation deadline, which the sweep reads.
    An account an administrator creates (R5) has no registration and gets one e-mail:
    its 15 days count from that e-mail.
    """
    policy = deps.policy
    applicant = enrolment is not None and enrolment.applicant == account.identifier
    if applicant:
        assert enrolment is not None and enrolment.submitted_at is not None
        expires_at = registration_deadline(deps, enrolment)
    else:
        expires_at = now + policy.creation_link_validity
    sealed = issue_link(deps, uow, account, LinkPurpose.PASSWORD_CREATION, now, expires_at)
    if account.activation_deadline != expires_at:
        moved = account.restart_activation(until=expires_at)
        uow.accounts.update(moved.state)
        account = moved.state
    withdrawal = None
    if applicant:
        assert enrolment is not None
        withdrawal = issue_link(
            deps, uow, account, LinkPurpose.WITHDRAWAL_BY_APPLICANT, now, expires_at
        )
    days = policy.creation_link_validity.days
    notification = email(
        EmailKind.PASSWORD_CREATION,
        account,
        establishment,
        link=sealed,
        facts=(("validity_days", str(days)),)
        + ((("created_by", created_by),) if created_by else ()),
    )
    owe(deps, uow, evolve(notification, withdrawal=withdrawal), now)


def registration_deadline(deps: Dependencies, enrolment: Enrolment) -> datetime:
    """Rules C3, C6, C9: the end of the 15 days a classic registration has, counted from
    its submission. No resend moves it; past it the registration cannot be pending (its
    applicant either created the password and access opened on day J, or lapsed), so
    the withdrawal links live until then and no later."""
    assert enrolment.submitted_at is not None
    return enrolment.submitted_at + deps.policy.creation_link_validity


def send_enrolment_letter(
    deps: Dependencies,
    uow: UnitOfWork,
    establishment: Establishment,
    applicant: Account,
    now: datetime,
    enrolment: Enrolment | None,
) -> None:
    """Rule M2: a letter to the legal representative on every enrolment, its window
    block laid out to NF Z10-011 (C4) from the address as typed, and what its words
    agree with: the representative's civilité and function, the applicant's civilité."""
    representative = deps.contracts.legal_representative(establishment.siret)
    address = representative.address if representative else establishment.address
    if representative is not None:
        name, title = representative.display_name, representative.title
        civility = representative.civility
    else:
        name, title, civility = "Représentant légal", "", None
    recipient = [line for line in (name, title, establishment.designation) if line]
    block = address_block(recipient, address) if address is not None else tuple(recipient)
    withdrawal = None
    deadline = None
    if enrolment is not None:
        # The letter announces day J, the end the representative can count on; the code
        # itself works as long as access has not opened (C9), checked when it is used.
        deadline = enrolment.access_from
        assert deadline is not None
        withdrawal = issue_link(
            deps,
            uow,
            applicant,
            LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE,
            now,
            registration_deadline(deps, enrolment),
        )
    letter = LetterNotification(
        kind=LetterKind.CLASSIC_ENROLMENT if enrolment else LetterKind.NET_ENTREPRISES_ENROLMENT,
        siret=establishment.siret.value,
        designation=establishment.designation,
        recipient_name=name,
        recipient_title=title,
        recipient_civility=civility,
        recipient_address=block,
        applicant_name=applicant.holder.formal_name,
        applicant_civility=applicant.holder.civility,
        applicant_function=applicant.holder.service_function.value,
        applicant_email=applicant.holder.email.value,
        registered_at=now,
        withdrawal_deadline=deadline,
        withdrawal=withdrawal,
    )
    owe(deps, uow, letter, now)


def access_open_email(
    deps: Dependencies, applicant: Account, enrolment: Enrolment
) -> EmailNotification:
    """Rule C8: « Vous pouvez maintenant accéder à la plateforme »."""
    assert enrolment.submitted_at is not None
    return email(
        EmailKind.ACCESS_OPEN,
        applicant,
        deps.registry.establishment(enrolment.siret),
        facts=(
            ("registered_on", local_date(enrolment.submitted_at)),
            ("login_url", deps.base_url + deps.link_paths.login),
        ),
    )


def link_url(deps: Dependencies, sealed: SealedLink | None) -> str | None:
    """The URL a person follows. The letter's withdrawal code is typed on that page, not
    carried in the URL (P4): the printed address stays short and its code whole."""
    if sealed is None:
        return None
    if sealed.purpose is LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE:
        return f"{deps.base_url}{deps.link_paths.of(sealed.purpose)}"
    token = deps.secret.token_for(sealed.nonce)
    return f"{deps.base_url}{deps.link_paths.of(sealed.purpose)}?jeton={token}"


def withdrawal_code(deps: Dependencies, sealed: SealedLink | None) -> str | None:
    """Rule P4: the code printed in the letter (``K7QM-3XHD-9PVA``), derived at delivery."""
    if sealed is None or sealed.purpose is not LinkPurpose.WITHDRAWAL_BY_LEGAL_REPRESENTATIVE:
        return None
    return deps.secret.withdrawal_code_for(sealed.nonce)
