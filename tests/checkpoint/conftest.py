"""Every test leaves the process's signal handlers as it found them (a run that raises mid-training never
reaches the hook point that removes the preemption handlers)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


@pytest.fixture(autouse=True)
def restore_signal_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
