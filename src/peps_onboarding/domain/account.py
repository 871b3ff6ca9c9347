"""Accounts, their holders, profiles, states and rights (rules A2, A4, A7, R1–R5)."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import evolve, frozen

from .errors import TransitionNotAllowedError
from .events import (
    AccountActivated,
    AccountBlocked,
    AccountCreated,
    AccountDeleted,
    AccountExpired,
    AccountInvalidated,
    AccountRenewed,
    AccountUnblocked,
    DomainEvent,
    LoginFailed,
    LoginSucceeded,
    PasswordReset,
    ProfileChanged,
    RightChanged,
)
from .policy import Policy
from .rights import AccessLevel, Right
from .transition import Transition
from .values import (
    Civility,
    EmailAddress,
    FixedPhone,
    Identifier,
    PersonName,
    PostalAddress,
    Siret,
    TextLine,
)

__all__ = ["ACCOUNT_MOVES", "Account", "AccountState", "Holder", "Profile"]


class Profile(enum.Enum):
    """Rule R1."""

    ADMINISTRATOR = "administrator"
    USER = "user"

    @property
    def label(self) -> str:
        return "Administrateur" if self is Profile.ADMINISTRATOR else "Utilisateur"


class AccountState(enum.Enum):
    """Rule A2, with the French labels of the members list."""

    PENDING_ACTIVATION = "pending_activation"
    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    DELETED = "deleted"
    INVALIDATED = "invalidated"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def is_closed(self) -> bool:
        """Deleted and invalidated are final: nothing leaves them."""
        return self in (AccountState.DELETED, AccountState.INVALIDATED)


_STATE_LABELS = {
    AccountState.PENDING_ACTIVATION: "En attente d'activation",
    AccountState.ACTIVE: "Actif",
    AccountState.BLOCKED: "Bloqué",
    AccountState.EXPIRED: "Expiré",
    AccountState.DELETED: "Supprimé",
    AccountState.INVALIDATED: "Infirmé",
}


_OPEN = frozenset(
    {
        AccountState.PENDING_ACTIVATION,
        AccountState.ACTIVE,
        AccountState.BLOCKED,
        AccountState.EXPIRED,
    }
)

# Rule A2: every move an account has, and the states it may start from. A move not
# listed here, or from another state, raises TransitionNotAllowedError.
ACCOUNT_MOVES: dict[str, frozenset[AccountState]] = {
    "activate": frozenset({AccountState.PENDING_ACTIVATION}),
    "restart_activation": frozenset({AccountState.PENDING_ACTIVATION}),
    "login": frozenset({AccountState.ACTIVE}),
    "record_failed_login": frozenset({AccountState.ACTIVE}),
    "reset_password": frozenset({AccountState.ACTIVE, AccountState.BLOCKED, AccountState.EXPIRED}),
    "unblock": frozenset({AccountState.BLOCKED}),
    "expire": frozenset({AccountState.ACTIVE}),
    "renew": frozenset({AccountState.EXPIRED}),
    "restart_lifetime": frozenset({AccountState.ACTIVE, AccountState.BLOCKED}),
    "delete": _OPEN,
    "invalidate": _OPEN,
    "set_right": _OPEN,
    "change_profile": _OPEN,
}


@frozen(kw_only=True)
class Holder:
    """The person holding the account, as typed in the form of C4 / N3."""

    civility: Civility
    last_name: PersonName
    first_name: PersonName
    email: EmailAddress
    phone: FixedPhone
    service_function: TextLine
    address: PostalAddress

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def formal_name(self) -> str:
        return f"{self.civility.label} {self.first_name} {self.last_name}"


@frozen(kw_only=True)
class Account:
    identifier: Identifier
    siret: Siret
    profile: Profile
    state: AccountState
    holder: Holder
    net_entreprises: bool
    created_at: datetime
    password_hash: str | None = None
    failed_logins: int = 0
    activation_deadline: datetime | None = None
    expires_at: datetime | None = None
    last_login_at: datetime | None = None
    rights: tuple[Right, ...] = ()
    version: int = 0

    # --- reading ---------------------------------------------------------------------

    @property
    def is_administrator(self) -> bool:
        """Counts for E5: an administrator that is neither deleted nor invalidated."""
        return self.profile is Profile.ADMINISTRATOR and not self.state.is_closed

    @property
    def deadline(self) -> datetime | None:
        """When the sweep (T1) must look at this account: creation link end, or expiry."""
        if self.state is AccountState.PENDING_ACTIVATION:
            return self.activation_deadline
        if self.state is AccountState.ACTIVE:
            return self.expires_at
        return None

    def level(self, service: str) -> AccessLevel:
        for right in self.rights:
            if right.service == service:
                return right.level
        return AccessLevel.NONE

    # --- creation --------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        identifier: Identifier,
        siret: Siret,
        profile: Profile,
        holder: Holder,
        at: datetime,
        policy: Policy,
        actor: str,
        net_entreprises: bool = False,
        expires_at: datetime | None = None,
    ) -> Transition[Account]:
        """A platform-password account starts « En attente d'activation » (C5, R5);
        a Net-Entreprises account is « Actif » at once (N3, N4). Rights are R4's defaults."""
        state = AccountState.ACTIVE if net_entreprises else AccountState.PENDING_ACTIVATION
        account = cls(
            identifier=identifier,
            siret=siret,
            profile=profile,
            state=state,
            holder=holder,
            net_entreprises=net_entreprises,
            created_at=at,
            activation_deadline=None if net_entreprises else at + policy.creation_link_validity,
            expires_at=expires_at or policy.expiry_from(at),
            rights=tuple(Right(s.code, policy.default_level(s.code)) for s in policy.services),
        )
        event = AccountCreated(
            at=at,
            siret=siret.value,
            account=identifier.value,
            actor=actor,
            profile=profile.value,
            state=state.value,
            net_entreprises=net_entreprises,
        )
        return Transition(account, (event,))

    # --- A2 transitions --------------------------------------------------------------

    def _require(self, action: str) -> None:
        if self.state not in ACCOUNT_MOVES[action]:
            raise TransitionNotAllowedError(self.state.value, action)

    def _fact(self, cls: type[DomainEvent], at: datetime, actor: str | None = None) -> DomainEvent:
        return cls(
            at=at,
            siret=self.siret.value,
            account=self.identifier.value,
            actor=actor or self.identifier.value,
        )

    def activate(self, *, password_hash: str, at: datetime) -> Transition[Account]:
        """Rule C7: « En attente d'activation » → « Actif » when the password is created."""
        self._require("activate")
        if self.net_entreprises:
            raise TransitionNotAllowedError(self.state.value, "activate (Net-Entreprises)")
        active = evolve(
            self,
            state=AccountState.ACTIVE,
            password_hash=password_hash,
            activation_deadline=None,
            failed_logins=0,
        )
        return Transition(active, (self._fact(AccountActivated, at),))

    def record_login(self, *, at: datetime, policy: Policy) -> Transition[Account]:
        """Rule A4/A7: a success resets the failures and restarts the 18 months."""
        self._require("login")
        logged = evolve(self, failed_logins=0, last_login_at=at, expires_at=policy.expiry_from(at))
        return Transition(logged, (self._fact(LoginSucceeded, at, actor=self.identifier.value),))

    def record_failed_login(self, *, at: datetime, policy: Policy) -> Transition[Account]:
        """Rule A4: the ``max_failed_logins``-th consecutive failure blocks the account."""
        self._require("record_failed_login")
        failures = self.failed_logins + 1
        failed = LoginFailed(
            at=at,
            siret=self.siret.value,
            account=self.identifier.value,
            actor="anonymous",
            consecutive_failures=failures,
        )
        if failures >= policy.max_failed_logins:
            blocked = evolve(self, state=AccountState.BLOCKED, failed_logins=failures)
            return Transition(blocked, (failed, self._fact(AccountBlocked, at, "system")))
        return Transition(evolve(self, failed_logins=failures), (failed,))

    def reset_password(self, *, password_hash: str, at: datetime) -> Transition[Account]:
        """Rule A5: a new password; a blocked account is unblocked, failures reset.

        An expired account keeps its state: only an administrator renews it (A7).
        """
        self._require("reset_password")
        if self.net_entreprises:
            raise TransitionNotAllowedError(self.state.value, "reset_password (Net-Entreprises)")
        events: list[DomainEvent] = [self._fact(PasswordReset, at)]
        state = self.state
        if state is AccountState.BLOCKED:
            state = AccountState.ACTIVE
            events.append(self._fact(AccountUnblocked, at))
        reset = evolve(self, password_hash=password_hash, failed_logins=0, state=state)
        return Transition(reset, tuple(events))

    def rehash(self, *, password_hash: str) -> Account:
        """Stronger hash parameters for the same password: not a state change."""
        return evolve(self, password_hash=password_hash)

    def unblock(self, *, at: datetime, actor: str) -> Transition[Account]:
        """Rule R5: an administrator unblocks a blocked account."""
        self._require("unblock")
        unblocked = evolve(self, state=AccountState.ACTIVE, failed_logins=0)
        return Transition(unblocked, (self._fact(AccountUnblocked, at, actor),))

    def expire(self, *, at: datetime) -> Transition[Account]:
        """Rule A7: « Actif » → « Expiré » once the expiration date has passed."""
        self._require("expire")
        if self.expires_at is None or at < self.expires_at:
            raise TransitionNotAllowedError(self.state.value, "expire before the expiry date")
        return Transition(
            evolve(self, state=AccountState.EXPIRED), (self._fact(AccountExpired, at, "system"),)
        )

    def renew(self, *, at: datetime, actor: str, policy: Policy) -> Transition[Account]:
        """Rule A7: an administrator renews an expired account; the 18 months restart."""
        self._require("renew")
        expires_at = policy.expiry_from(at)
        renewed = evolve(self, state=AccountState.ACTIVE, expires_at=expires_at, failed_logins=0)
        event = AccountRenewed(
            at=at,
            siret=self.siret.value,
            account=self.identifier.value,
            actor=actor,
            expires_at=expires_at,
        )
        return Transition(renewed, (event,))

    def restart_lifetime(self, *, at: datetime, policy: Policy) -> Transition[Account]:
        """Rule A7: access opening restarts the 18 months (the event is AccessOpened)."""
        self._require("restart_lifetime")
        return Transition(evolve(self, expires_at=policy.expiry_from(at)))

    def restart_activation(self, *, until: datetime) -> Transition[Account]:
        """Rule C3: a new password-creation link moves the activation deadline to its end
        (the event is the link's LinkIssued, which carries that end)."""
        self._require("restart_activation")
        return Transition(evolve(self, activation_deadline=until))

    def delete(self, *, at: datetime, actor: str, reason: str) -> Transition[Account]:
        """Rule A2: any state → deleted (creation link expired, withdrawal)."""
        self._require("delete")
        deleted = evolve(self, state=AccountState.DELETED, password_hash=None)
        event = AccountDeleted(
            at=at, siret=self.siret.value, account=self.identifier.value, actor=actor, reason=reason
        )
        return Transition(deleted, (event,))

    def invalidate(self, *, at: datetime, actor: str) -> Transition[Account]:
        """Rule A2/R5: any state → invalidated by an administrator (« infirmer »)."""
        self._require("invalidate")
        invalidated = evolve(self, state=AccountState.INVALIDATED, password_hash=None)
        return Transition(invalidated, (self._fact(AccountInvalidated, at, actor),))

    # --- administration (R3, R5) -----------------------------------------------------

    def set_right(
        self, *, service: str, level: AccessLevel, at: datetime, actor: str
    ) -> Transition[Account]:
        """Rule R3: one level per (account, service)."""
        self._require("set_right")
        if self.level(service) is level:
            return Transition(self)
        rights = (*(r for r in self.rights if r.service != service), Right(service, level))
        event = RightChanged(
            at=at,
            siret=self.siret.value,
            account=self.identifier.value,
            actor=actor,
            service=service,
            level=level.value,
        )
        return Transition(evolve(self, rights=rights), (event,))

    def change_profile(self, *, profile: Profile, at: datetime, actor: str) -> Transition[Account]:
        """Rule R5: promote or demote (the caller guards E5)."""
        self._require("change_profile")
        if self.profile is profile:
            return Transition(self)
        event = ProfileChanged(
            at=at,
            siret=self.siret.value,
            account=self.identifier.value,
            actor=actor,
            profile=profile.value,
        )
        return Transition(evolve(self, profile=profile), (event,))
