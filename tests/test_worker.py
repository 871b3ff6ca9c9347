"""The worker: sweep and dispatch in passes, clean stop (T1, M3)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from peps_onboarding import DispatchReport, NetEntreprisesUnavailableError, SweepReport
from peps_onboarding.entrypoints.worker import PassReport, Worker, counted
from peps_onboarding.testing import Journey


@pytest.mark.rule("T1", "M3")
def test_one_pass_sweeps_then_delivers_everything_due(journey: Journey) -> None:
    """T1/M3: day J opens access and the access e-mail leaves in the same pass."""
    journey.register()
    journey.create_password("jeanne.dupont@employeur.example")
    journey.later(days=8)
    reports: list[PassReport] = []
    worker = Worker(journey.platform, batch=1, on_pass=reports.append)
    report = worker.run_once()
    assert report.sweep.access_opened == 1
    assert report.dispatch.sent >= 1
    assert report.dispatch.pending == 0
    assert reports == [report]
    assert worker.run_once().sweep.total == 0


@pytest.mark.rule("M3")
def test_a_failing_mailer_ends_the_pass_and_the_next_pass_delivers(journey: Journey) -> None:
    """M3: failures stay owed; later passes deliver them once."""
    journey.world.mailer.fail_next(1)
    journey.register()
    worker = Worker(journey.platform, batch=10)
    first = worker.run_once()
    assert (first.dispatch.failed, first.dispatch.pending) == (1, 1)
    journey.later(minutes=5)
    assert worker.run_once().dispatch.sent == 1
    assert len(journey.world.mailer.sent) == 1


def test_the_loop_stops_cleanly_on_sigterm(journey: Journey) -> None:
    """SIGTERM finishes the current pass and ends the loop."""
    worker = Worker(journey.platform, interval=0.01)
    passes = threading.Event()
    worker.on_pass = lambda _: passes.set()
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    worker.install_signal_handlers()
    try:
        thread = threading.Thread(target=worker.run)
        thread.start()
        assert passes.wait(5)
        os.kill(os.getpid(), signal.SIGTERM)
        thread.join(5)
        assert not thread.is_alive()
        assert worker.stopping
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def test_an_outside_outage_does_not_kill_the_loop(journey: Journey) -> None:
    """A service outage during a pass is logged; the loop goes on."""
    calls = 0

    def sweep(now: object = None) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise NetEntreprisesUnavailableError()
        worker.stop()
        return real_sweep()

    real_sweep = journey.platform.sweep
    worker = Worker(journey.platform, interval=0)
    journey.platform.sweep = sweep  # type: ignore[method-assign,assignment]
    worker.run()
    assert calls == 2


def test_a_pass_reports_itself_in_french_and_as_data() -> None:
    """Finding f: a pass reads « 2 envoyés, 0 en échec, 3 en attente… » for people (French
    singular for 0 and 1) and as plain numbers for scripts, never as a Python repr."""
    report = PassReport(
        SweepReport(registrations_lapsed=1, accounts_deleted=2, access_opened=0),
        DispatchReport(sent=2, failed=1, pending=3, dead_lettered=1, dead=4),
    )
    assert report.summary == (
        "balayage : 1 inscription caduque, 2 comptes supprimés, 0 accès ouvert, "
        "0 compte expiré, 0 reporté ; envois : 2 envoyés, 1 en échec, 3 en attente, "
        "4 abandonnés (dont 1 à cette passe)"
    )
    assert "PassReport" not in report.summary
    assert report.as_dict()["dispatch"] == {
        "sent": 2,
        "failed": 1,
        "pending": 3,
        "dead_lettered": 1,
        "dead": 4,
    }
    assert counted(1, "envoyé", "envoyés") == "1 envoyé"
    assert counted(0, "envoyé", "envoyés") == "0 envoyé"


@pytest.mark.rule("M3")
def test_a_pass_counts_the_messages_given_up_on(journey: Journey) -> None:
    """M3: a refused message becomes a dead letter, and the pass says so."""
    journey.world.mailer.refuse_next(1)
    journey.register()
    report = Worker(journey.platform, batch=10).run_once()
    assert (report.dispatch.dead_lettered, report.dispatch.dead) == (1, 1)
    assert "1 abandonné (dont 1 à cette passe)" in report.summary
