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

from attrs import define, field, frozen

from ..application.platform import Platform
from ..application.results import DispatchReport, SweepReport
from ..domain.errors import ServiceUnavailableError

__all__ = ["PassReport", "Worker"]

_log = logging.getLogger(__name__)


@frozen
class PassReport:
    sweep: SweepReport
    dispatch: DispatchReport


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
        sent = failed = 0
        while True:
            round_ = self.platform.dispatch_notifications(limit=self.batch)
            sent, failed = sent + round_.sent, failed + round_.failed
            if round_.sent + round_.failed < self.batch or round_.failed or self._stop.is_set():
                break
        report = PassReport(sweep, DispatchReport(sent=sent, failed=failed, pending=round_.pending))
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
