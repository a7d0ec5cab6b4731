"""PhaseProgress: bars render on a terminal, refreshes are rate-limited, disabled bars cost nothing."""

from __future__ import annotations

import io

from rich.console import Console

from typedengine.logs.progress import PhaseProgress


def test_refreshes_are_rate_limited_and_final_state_is_drawn() -> None:
    buf = io.StringIO()
    now = [0.0]
    bars = PhaseProgress(
        console=Console(file=buf, force_terminal=True, width=120), refresh_per_second=4, clock=lambda: now[0]
    )
    task = bars.add("Epoch 1/2", total=1000)
    for _ in range(1000):
        now[0] += 0.002  # 2 s of training at 500 it/s
        bars.advance(task)
    bars.remove(task)
    # 2 s at <= 4 refreshes/s, plus the first and final draws
    assert 2 <= bars.refreshes <= 2 * 4 + 2
    out = buf.getvalue()
    assert "Epoch 1/2" in out and "1000/1000" in out


def test_nested_phase_bars() -> None:
    buf = io.StringIO()
    bars = PhaseProgress(console=Console(file=buf, force_terminal=True, width=120))
    train = bars.add("Train", total=10)
    bars.advance(train, 5)
    val = bars.add("Val", total=3)
    bars.advance(val, 3)
    bars.remove(val)
    bars.advance(train, 5)
    bars.remove(train)
    out = buf.getvalue()
    assert "3/3" in out and "10/10" in out
    assert bars._progress is None  # the display stops when no bar is left


def test_disabled_bars_do_nothing() -> None:
    bars = PhaseProgress(enabled=False)
    task = bars.add("Epoch 1/1", total=10)
    bars.advance(task)
    bars.remove(task)
    assert task == -1 and bars.refreshes == 0
