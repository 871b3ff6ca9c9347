"""The facade hosts call: every use case of the spec, one method each, each delegating to
its handler (:mod:`.classic`, :mod:`.net_entreprises`, :mod:`.authentication`,
:mod:`.administration`, :mod:`.housekeeping`).

Every use case parses its input (all field errors at once), reads the clock, applies
domain transitions, and commits the new state, its events (L1) and the notifications it
owes (M3) together, once. Nothing is sent from inside a use case: the dispatcher
(:meth:`Platform.dispatch_notifications`) delivers the outbox later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..domain.events import DomainEvent
from ..domain.links import LinkPurpose
from ..domain.password import PasswordCheck
from ..domain.policy import Policy
from ..domain.rights import AccessLevel
from ..ports import ChallengeMedia, SecurityChallenge
from . import (
    administration,
    assistance,
    authentication,
    classic,
    establishment_members,
    housekeeping,
    net_entreprises,
    security_check,
)
from .commands import (
    ClassicRegistration,
    EstablishmentIdentification,
    HolderForm,
    IdentifierRecovery,
    NetEntreprisesCompletion,
    NetEntreprisesCredentials,
)
from .dependencies import Dependencies
from .link_paths import LinkPaths
from .notices import LINK_PATHS
from .results import (
    CreationLinkResent,
    DeadLetter,
    DispatchReport,
    EstablishmentMembers,
    IdentificationResult,
    IdentifierRecovered,
    LoginSucceededResult,
    MembersList,
    NetEntreprisesJoined,
    NetEntreprisesSignInResult,
    PasswordCreated,
    PasswordResetDone,
    PasswordResetRequested,
    RegistrationSubmitted,
    RegistrationWithdrawnResult,
    SweepReport,
    UserCreated,
)

__all__ = ["LINK_PATHS", "Platform"]


class Platform:
    """Every use case of the spec. Build it with :func:`peps_onboarding.build`."""

    def __init__(self, dependencies: Dependencies) -> None:
        self._deps = dependencies

    @property
    def policy(self) -> Policy:
        return self._deps.policy

    @property
    def link_paths(self) -> LinkPaths:
        """Where the e-mails' links point under ``base_url``: the screens serve these."""
        return self._deps.link_paths

    # --- classic path (C1–C9) ---------------------------------------------------------

    def identify_establishment(
        self, command: EstablishmentIdentification, *, client: str | None = None
    ) -> IdentificationResult:
        """Rules C1, C2, C3, C10, E2, E4, P1: step 1 of the classic registration; its
        result's ``proof`` is what :meth:`register`, :meth:`administrators` and
        :meth:`resend_creation_link` require. ``client``: the client's address, for the
        per-source rate limit (every anonymous use case takes it)."""
        return classic.identify_establishment(self._deps, command, client)

    def security_check(self, *, client: str | None = None) -> SecurityChallenge:
        """Rules C1, P1: a new security check for step 1; « Renouveler le contrôle de
        sécurité » is just another call. Its ``id`` goes back with the answer
        (``EstablishmentIdentification.captcha_challenge``). ``client``: the client's
        address, for the per-source limit."""
        return security_check.new_challenge(self._deps, client)

    def security_check_media(self, challenge_id: str, part: str) -> ChallengeMedia | None:
        """Rules C1, W4: an image of the check (``part``: a choice's key, or ``"image"``)
        or its sound version (``"son"``); ``None`` when unknown, expired or used."""
        return security_check.challenge_media(self._deps, challenge_id, part)

    def administrators(self, proof: str) -> tuple[str, ...]:
        """Rules R7, C2, C10: every administrator's name (never e-mail or phone)."""
        return classic.administrators(self._deps, proof)

    def resend_creation_link(self, proof: str, *, client: str | None = None) -> CreationLinkResent:
        """Rules C3, C10, P1: « Vous en envoyer un nouveau » — a new link replaces the old
        one (A8), and expires when the first would have."""
        return classic.resend_creation_link(self._deps, proof, client)

    def register(self, command: ClassicRegistration) -> RegistrationSubmitted:
        """Rules C4, C5, C10, E3, E6, A1, M2: steps 2 and 3 of the classic registration."""
        return classic.register(self._deps, command)

    def check_password(self, password: str, confirmation: str | None = None) -> PasswordCheck:
        """Rule A3: every unmet rule, for a screen that keeps « Créer » disabled."""
        return authentication.check_new_password(password, confirmation)

    def create_password(self, token: str, password: str, confirmation: str) -> PasswordCreated:
        """Rules C6, C7, C8, A3, A8: the password-creation link."""
        return classic.create_password(self._deps, token, password, confirmation)

    def check_password_creation_link(self, token: str) -> None:
        """Rules W2, C6: what opening the e-mailed link shows, read only: returns when it
        is usable, else raises ``LinkNoLongerValidError`` with the administrators."""
        classic.refuse_dead_link(
            self._deps, token, LinkPurpose.PASSWORD_CREATION, record_lapse=False
        )

    def check_password_reset_link(self, token: str) -> None:
        """Rules W2, A5: the same, for the forgotten-password link."""
        classic.refuse_dead_link(self._deps, token, LinkPurpose.PASSWORD_RESET, record_lapse=False)

    def withdraw_registration(
        self, code: str, *, client: str | None = None
    ) -> RegistrationWithdrawnResult:
        """Rules C9, P4, P1: the legal representative (the letter's code, typed: case,
        spaces, hyphens and look-alikes forgiven) or the applicant (the e-mailed link's
        token) withdraws until access actually opens. ``client``: the client's address,
        for the per-source rate limit."""
        return classic.withdraw_registration(self._deps, code, client=client)

    # --- Net-Entreprises path (N1–N6) -------------------------------------------------

    def sign_in_with_net_entreprises(
        self, credentials: NetEntreprisesCredentials, *, client: str | None = None
    ) -> NetEntreprisesSignInResult:
        """Rules N1, N2, N5, N6, E4, P1: check the credentials, then the establishment."""
        return net_entreprises.sign_in_with_net_entreprises(self._deps, credentials, client)

    def complete_net_entreprises(self, command: NetEntreprisesCompletion) -> NetEntreprisesJoined:
        """Rules N3 (enrolled → user account) and N4 (not enrolled → enrol, administrator)."""
        return net_entreprises.complete_net_entreprises(self._deps, command)

    # --- authentication (A4–A7) -------------------------------------------------------

    def login(
        self, identifier: str, password: str, *, client: str | None = None
    ) -> LoginSucceededResult:
        """Rules A4, A7, C8, N6, P1, P3: identifier + password."""
        return authentication.login(self._deps, identifier, password, client)

    def request_password_reset(
        self, identifier: str, *, client: str | None = None
    ) -> PasswordResetRequested:
        """Rules A5, P1, P2: the same answer, in the same time, whether or not the account
        exists; the e-mail is composed by the dispatcher."""
        return authentication.request_password_reset(self._deps, identifier, client)

    def reset_password(self, token: str, password: str, confirmation: str) -> PasswordResetDone:
        """Rules A5, A3, A8: a new password; a blocked account is unblocked."""
        return authentication.reset_password(self._deps, token, password, confirmation)

    def recover_identifier(
        self, command: IdentifierRecovery, *, client: str | None = None
    ) -> IdentifierRecovered:
        """Rules A6, P1: shown on screen when the details match exactly one account."""
        return authentication.recover_identifier(self._deps, command, client)

    # --- administration (R1–R7, E5) ---------------------------------------------------

    def create_user(self, actor: str, holder_form: HolderForm) -> UserCreated:
        """Rule R5: an administrator creates a user account (15-day creation link)."""
        return administration.create_user(self._deps, actor, holder_form)

    def set_right(self, actor: str, target: str, service: str, level: AccessLevel) -> None:
        """Rules R3, R5: grant, change or revoke (``AccessLevel.NONE``) a right."""
        administration.set_right(self._deps, actor, target, service, level)

    def invalidate(self, actor: str, target: str) -> None:
        """Rules R5, A2, E5: « infirmer » an account (never the last administrator)."""
        administration.invalidate(self._deps, actor, target)

    def renew(self, actor: str, target: str) -> None:
        """Rules R5, A7: renew an expired account; the 18 months restart."""
        administration.renew(self._deps, actor, target)

    def unblock(self, actor: str, target: str) -> None:
        """Rule R5: unblock a blocked account."""
        administration.unblock(self._deps, actor, target)

    def promote(self, actor: str, target: str) -> None:
        """Rule R5: a user becomes administrator."""
        administration.promote(self._deps, actor, target)

    def demote(self, actor: str, target: str) -> None:
        """Rules R5, E5: an administrator becomes user (never the last one)."""
        administration.demote(self._deps, actor, target)

    def list_members(self, actor: str) -> MembersList:
        """Rule R5: the administrators' view of the members they manage, with a warning
        while there is one administrator; refused to users (R6). What every member reads
        is :meth:`establishment_members`."""
        return administration.list_members(self._deps, actor)

    # --- « Mon établissement > Mes intervenants » (R8) --------------------------------

    def establishment_members(self, actor: str) -> EstablishmentMembers:
        """Rules R8, R6: « Mes intervenants » for any active member, user or administrator,
        of an enrolled establishment: R5's columns and the administrators' professional
        contact details (courriel, téléphone fixe, service/fonction), read-only. A
        blocked, expired, not yet activated or closed actor is told their account's
        state, an applicant before day J when access opens; ``actor`` is the identifier
        the host authenticated, as for the administrators' actions."""
        return establishment_members.establishment_members(self._deps, actor)

    def history(self, siret: str) -> tuple[DomainEvent, ...]:
        """Rule L1: every event of the establishment, in order."""
        return administration.history(self._deps, siret)

    # --- time (T1) and delivery (M3) --------------------------------------------------

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Rule T1: the idempotent pass a host scheduler calls."""
        return housekeeping.sweep(self._deps, now)

    def dispatch_notifications(self, limit: int = 100) -> DispatchReport:
        """Rule M3: deliver what the outbox owes; failures are retried later with backoff,
        refusals and messages out of attempts become dead letters."""
        return housekeeping.dispatch_notifications(self._deps, limit)

    def dead_letters(self, limit: int | None = None) -> tuple[DeadLetter, ...]:
        """Rule M3: the notifications given up on, oldest first (at most ``limit``)."""
        return housekeeping.dead_letters(self._deps, limit)

    def retry_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Rule M3: makes dead letters (all, or those of ``ids``) due now, attempts reset;
        returns how many."""
        return housekeeping.retry_dead_letters(self._deps, ids)

    # --- assistance (R9) --------------------------------------------------------------
    # Named ``assist_…``, apart from the administrators' ``renew`` and ``unblock`` and
    # the applicant's ``resend_creation_link``: the support acts for any establishment,
    # as an operator (never an account), and always says why. ``reason`` is keyword-only
    # so that it can never be swapped with ``target``, another string.

    def assist_renew(self, operator: str, target: str, *, reason: str) -> None:
        """Rules R9, A7, L1: the support renews an expired account of any establishment
        (the 18 months restart). ``operator``: the support operator's name, which the
        host authenticated and the library trusts as it trusts an administrator's
        ``actor``; ``reason`` is mandatory and recorded in the history."""
        assistance.assist_renew(self._deps, operator, target, reason)

    def assist_unblock(self, operator: str, target: str, *, reason: str) -> None:
        """Rules R9, A2, L1: the support unblocks a blocked account of any establishment.
        ``operator`` as in :meth:`assist_renew`; ``reason`` is mandatory and recorded."""
        assistance.assist_unblock(self._deps, operator, target, reason)

    def assist_resend_creation_link(self, operator: str, target: str, *, reason: str) -> None:
        """Rules R9, C3, L1: the support resends the password-creation e-mail of an
        account « En attente d'activation » (a pending registration's applicant, or a
        user an administrator created); the new link replaces the old ones. ``operator``
        as in :meth:`assist_renew`; ``reason`` is mandatory and recorded."""
        assistance.assist_resend_creation_link(self._deps, operator, target, reason)
