"""The background worker: the sweep (T1) and the outbox dispatcher (M3), in a loop.

``peps-onboarding worker`` runs it; ``--once`` does one pass (for cron). SIGTERM and
SIGINT end the loop after the current pass: nothing is cut in the middle of a unit of
work, and what a pass did not reach is found again by the next one, since both the
sweep and the outbox work from what the stores say is due. Several workers may run at
once: each sweep item and each outbox row is changed under the stores' concurrency
control (optimistic versions; claimed outbox rows on PostgreSQL), so nothing is
processed twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from attrs import asdict, define, field, frozen

from ..application.platform import Platform
from ..application.results import DispatchReport, SweepReport
from ..domain.errors import ServiceUnavailableError

__all__ = ["PassReport", "Worker", "counted", "sweep_summary"]

_log = logging.getLogger(__name__)


@frozen
class PassReport:
    """What one pass did: the sweep's changes, then the outbox's deliveries."""

    sweep: SweepReport
    dispatch: DispatchReport

    @property
    def summary(self) -> str:
        """In French, for people: « balayage : … ; envois : 2 envoyés, 0 en échec, 3 en
        attente, 0 abandonné » (abandoned: the dead letters ``outbox list`` shows)."""
        dispatch = self.dispatch
        return (
            f"balayage : {sweep_summary(self.sweep)}"
            + " ; envois : "
            + ", ".join(
                (
                    counted(dispatch.sent, "envoyé", "envoyés"),
                    f"{dispatch.failed} en échec",
                    f"{dispatch.pending} en attente",
                    counted(dispatch.dead, "abandonné", "abandonnés")
                    + (
                        f" (dont {dispatch.dead_lettered} à cette passe)"
                        if dispatch.dead_lettered
                        else ""
                    ),
                )
            )
        )

    def as_dict(self) -> dict[str, dict[str, int]]:
        """JSON-ready, for scripts (``worker --once --json``)."""
        return {"sweep": asdict(self.sweep), "dispatch": asdict(self.dispatch)}


def sweep_summary(sweep: SweepReport) -> str:
    """« 1 inscription caduque, 1 compte supprimé, 0 accès ouvert, 0 compte expiré, … »."""
    return ", ".join(
        (
            counted(sweep.registrations_lapsed, "inscription caduque", "inscriptions caduques"),
            counted(sweep.accounts_deleted, "compte supprimé", "comptes supprimés"),
            counted(sweep.access_opened, "accès ouvert", "accès ouverts"),
            counted(sweep.accounts_expired, "compte expiré", "comptes expirés"),
            counted(sweep.skipped, "reporté", "reportés"),
        )
    )


def counted(count: int, singular: str, plural: str) -> str:
    """« 0 envoyé », « 1 envoyé », « 2 envoyés »: French puts 0 and 1 in the singular."""
    return f"{count} {singular if count < 2 else plural}"


@define
class Worker:
    platform: Platform
    interval: float = 30.0  # seconds between passes
    batch: int = 100  # outbox messages per dispatch round
    on_pass: Callable[[PassReport], None] | None = None
    _stop: threading.Event = field(factory=threading.Event, init=False)

    def run_once(self) -> PassReport:
        """One pass: the sweep, then the outbox until nothing due is left (or a round fails)."""
        sweep = self.platform.sweep()
        sent = failed = dead_lettered = 0
        while True:
            round_ = self.platform.dispatch_notifications(limit=self.batch)
            sent, failed = sent + round_.sent, failed + round_.failed
            dead_lettered += round_.dead_lettered
            if round_.sent + round_.failed < self.batch or round_.failed or self._stop.is_set():
                break
        dispatch = DispatchReport(
            sent=sent,
            failed=failed,
            pending=round_.pending,
            dead_lettered=dead_lettered,
            dead=round_.dead,
        )
        report = PassReport(sweep, dispatch)
        if self.on_pass is not None:
            self.on_pass(report)
        return report

    def run(self) -> None:
        """Passes until :meth:`stop`, or SIGTERM / SIGINT once signal handlers are installed."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except ServiceUnavailableError as error:  # an outside service is down: next pass
                _log.warning("passe interrompue : %s", error.code)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the current pass, then the loop ends."""

        def handle(signum: int, frame: FrameType | None) -> None:
            _log.info("signal %s reçu : arrêt après la passe en cours", signum)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
