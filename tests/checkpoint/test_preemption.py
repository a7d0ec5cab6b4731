"""Preemption signals only set a flag; a second Ctrl-C interrupts at once; Preempted exits with 75."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from typedengine.checkpoint.preemption import PREEMPTED_EXIT_CODE, Preempted, PreemptionHandler


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT])
def test_signal_sets_the_flag_and_uninstall_restores(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    handler = PreemptionHandler()
    assert handler.install()
    try:
        assert not handler.should_stop(1, world_size=1)
        os.kill(os.getpid(), sig)
        assert handler.requested and handler.signal_name == sig.name
        assert handler.should_stop(1, world_size=1)
    finally:
        handler.uninstall()
    assert signal.getsignal(sig) == before
    handler.uninstall()  # twice is fine


def test_second_ctrl_c_interrupts_immediately() -> None:
    handler = PreemptionHandler()
    handler.install()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        assert handler.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        handler.uninstall()


def test_install_outside_the_main_thread_is_a_no_op() -> None:
    handler = PreemptionHandler()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(handler.install()))
    t.start()
    t.join()
    assert result == [False] and not handler.installed


def test_distributed_check_only_on_the_agreed_cadence() -> None:
    handler = PreemptionHandler(check_interval_iters=5)
    handler.request("SIGTERM")
    # world_size > 1: only every 5th step combines flags (with no process group, all_reduce is the identity)
    assert [handler.should_stop(s, world_size=2) for s in range(1, 11)] == [False] * 4 + [True] + [
        False
    ] * 4 + [True]
    with pytest.raises(ValueError):
        PreemptionHandler(check_interval_iters=0)


def test_preempted_exits_the_interpreter_with_75() -> None:
    code = "from typedengine.checkpoint.preemption import Preempted; raise Preempted('SIGTERM', 'iter_5.pth')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == PREEMPTED_EXIT_CODE == 75
    assert out.stderr == ""  # SystemExit: no traceback
    assert (
        str(Preempted("SIGTERM", "iter_5.pth")) == "stopped by SIGTERM after saving iter_5.pth (exit code 75)"
    )


def test_second_sigterm_reaches_the_previous_handler() -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    handler = PreemptionHandler()
    try:
        handler.install()
        os.kill(os.getpid(), signal.SIGTERM)
        assert handler.requested and received == []
        os.kill(os.getpid(), signal.SIGTERM)  # e.g. the run already died and nobody acts on the flag
        assert received == [signal.SIGTERM]
    finally:
        handler.uninstall()
        signal.signal(signal.SIGTERM, previous)


def test_a_leftover_handler_is_replaced_not_chained() -> None:
    original = signal.getsignal(signal.SIGUSR1)
    stale = PreemptionHandler([signal.SIGUSR1])
    stale.install()  # an earlier run that raised and never uninstalled
    fresh = PreemptionHandler([signal.SIGUSR1])
    fresh.install()
    fresh.uninstall()
    assert signal.getsignal(signal.SIGUSR1) == original
