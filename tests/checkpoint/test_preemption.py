"""Preemption signals only set a flag; a second Ctrl-C interrupts at once; Preempted exits with 75."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

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


# -- the run's lifetime: start-up, training, after the end -------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["model", "data"])
def test_a_signal_during_start_up_stops_before_the_first_iteration_with_75(tmp_path: Path, mode: str) -> None:
    from tests.checkpoint.lifetime_probe import run

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Preempted) as info:
        run(mode, tmp_path / "w")
    assert info.value.code == PREEMPTED_EXIT_CODE and info.value.checkpoint is None
    assert "during start-up, before the first iteration; nothing to save" in str(info.value)
    # nothing half-written: no checkpoint, no temporary file; only the log directory of the run
    assert [p.name for p in (tmp_path / "w").iterdir() if p.is_file()] == []
    assert signal.getsignal(signal.SIGTERM) == before  # the run's handler was removed


@pytest.mark.parametrize("mode", ["final-val", "after-run", "close"])
def test_a_signal_after_the_last_iteration_lets_the_run_end_normally(tmp_path: Path, mode: str) -> None:
    from tests.checkpoint.lifetime_probe import run

    before = signal.getsignal(signal.SIGTERM)
    report = run(mode, tmp_path / "w")  # returns: exit code 0, no requeue of a finished job
    assert report == {"iters": 8, "files": ["epoch_1.pth", "epoch_2.pth", "last_checkpoint"]}  # no iter_8.pth
    assert signal.getsignal(signal.SIGTERM) == before


def _probe(mode: str, work: Path, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "MASTER_PORT": str(_free_port())}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.checkpoint.lifetime_probe", mode, str(work)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_sigterm_while_waiting_for_peers_exits_75_at_once_and_writes_nothing(tmp_path: Path) -> None:
    import time

    proc = _probe("join", tmp_path / "w")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    time.sleep(1.5)  # now blocked joining a world of 2 whose second process never starts
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == PREEMPTED_EXIT_CODE, err
    assert time.monotonic() - start < 5
    assert "SIGTERM while waiting for the other processes to join; nothing was written" in err
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_the_process_exit_codes_are_75_in_start_up_and_0_after_the_end(tmp_path: Path) -> None:
    for mode, code in (("data", PREEMPTED_EXIT_CODE), ("after-run", 0)):
        proc = _probe(mode, tmp_path / mode / "w")
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == code, err
        assert "Traceback" not in err


def test_without_a_checkpoint_hook_ctrl_c_interrupts_training_at_once(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader

    import typedengine as te
    from tests.conftest import TinyMLP, make_data
    from typedengine.hooks.choices import DefaultHooksConfig

    class CtrlC(te.Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def,override]
            if runner.state.iter == 2:
                os.kill(os.getpid(), signal.SIGINT)

    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path,
        train_dataloader=DataLoader(make_data(n=32), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=1),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1)),
        default_hooks=DefaultHooksConfig(checkpoint=None),
        custom_hooks=[CtrlC()],
    )
    with pytest.raises(KeyboardInterrupt):  # nobody would act on a flag: the signal is not swallowed
        runner.train()
    assert runner.state.iter == 2


def test_a_plain_handler_attaches_to_the_run_handler_and_shares_its_flag() -> None:
    run = PreemptionHandler(phase="startup")
    run.install()
    try:
        hook = PreemptionHandler(check_interval_iters=2)
        assert hook.install() and hook.installed
        assert getattr(signal.getsignal(signal.SIGTERM), "__self__", None) is run  # not replaced
        os.kill(os.getpid(), signal.SIGUSR1)
        assert hook.requested and hook.signal_name == "SIGUSR1"
        run.phase, run.total_steps = "training", 6
        assert hook.should_stop(4, world_size=1)
        assert not hook.should_stop(6, world_size=1)  # training finished: never preempt
        hook.uninstall()  # detaches; the run handler stays, the hook keeps what was asked
        assert hook.requested and not hook.installed and run.installed
        with (
            pytest.raises(Preempted),
            run.exit_on_signal("waiting"),
        ):  # a request made before it stops at once
            pass
    finally:
        run.uninstall()


@pytest.mark.slow
def test_a_signal_between_cli_and_the_runner_exits_75_and_a_finished_run_retires_it(tmp_path: Path) -> None:
    """te.cli() covers the gap before a Runner exists (torch is imported there): SIGTERM exits 75; once a
    run handler took over and the run ended, the start-up exit is gone (SIGTERM terminates as by default)."""
    script = tmp_path / "exp.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "import typedengine as te\n"
        "from tests.cli.digits import DigitsExperiment\n"
        "cfg = te.cli(DigitsExperiment, args=[], environ={})\n"
        "assert 'torch' not in sys.modules\n"
        "if sys.argv[1] == 'before':\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "from typedengine.checkpoint.preemption import PreemptionHandler\n"
        "handler = PreemptionHandler(phase='startup')\n"
        "handler.install()\n"
        "handler.uninstall()\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signal.getsignal(signal.SIGTERM)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'examples'}"}
    before = subprocess.run(
        [sys.executable, str(script), "before"], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert before.returncode == PREEMPTED_EXIT_CODE, before.stderr
    assert "Traceback" not in before.stderr
    after = subprocess.run(
        [sys.executable, str(script), "after"], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert after.returncode == 0, after.stderr
