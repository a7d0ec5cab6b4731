"""ProfilerHook writes real torch.profiler traces under the run's log dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from tests.logs.fake_runner import FakeClock, FakeRunner, run_train
from typedengine.hooks.profiler import ProfilerHookConfig, ProfilerScheduleConfig


def _matmul_step(runner: FakeRunner, idx: int) -> dict[str, object]:
    a = torch.randn(16, 16)
    return {"loss": (a @ a).sum()}


def test_chrome_trace_with_schedule(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=6, max_epochs=1)
    cfg = ProfilerHookConfig(
        profile_times=4, schedule=ProfilerScheduleConfig(wait=1, warmup=1, active=2, repeat=1)
    )
    hook = cfg.build()
    runner.register_hook(hook)
    run_train(runner, FakeClock(), _matmul_step)
    traces = sorted((runner.log_dir / "profiler").glob("trace_*.json"))
    assert len(traces) == 1
    events = json.loads(traces[0].read_text())["traceEvents"]
    names = {e.get("name", "") for e in events}
    assert any("matmul" in n or "mm" in n for n in names)
    assert hook._profiler is None  # stopped after profile_times steps


def test_table_goes_to_the_log(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=3, max_epochs=1)
    runner.register_hook(ProfilerHookConfig(profile_times=2, trace="table").build())
    run_train(runner, FakeClock(), _matmul_step)
    summary = [line for line in runner.lines if line.startswith("Profiler summary")]
    assert len(summary) == 1 and "Self CPU" in summary[0]


def test_tensorboard_trace(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1)
    runner.register_hook(
        ProfilerHookConfig(profile_times=2, trace="tensorboard", out_subdir="tb_trace").build()
    )
    run_train(runner, FakeClock(), _matmul_step)
    assert list((runner.log_dir / "tb_trace").glob("*.pt.trace.json"))


def test_schedule_must_fit_profile_times() -> None:
    with pytest.raises(ValidationError, match="profile_times"):
        ProfilerHookConfig(profile_times=2, schedule=ProfilerScheduleConfig(wait=1, warmup=1, active=2))
