"""Rich progress bars for the running phases (train epoch, val, test), refreshed a few times per second.

Only the throttled refresh touches the terminal: :meth:`PhaseProgress.advance` is a counter increment and
a clock read, so a bar costs nothing measurable per iteration. Log lines printed while a bar is live
appear above it (rich redirects ``sys.stdout`` while the bar is shown).

Example::

    bars = PhaseProgress(enabled=sys.stdout.isatty())
    task = bars.add("Epoch 1/5", total=len(loader))
    for batch in loader:
        ...
        bars.advance(task)
    bars.remove(task)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["PhaseProgress", "stdout_is_terminal"]


def stdout_is_terminal() -> bool:
    """Whether standard output is an interactive terminal (progress bars make sense)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty is not None and isatty())


class PhaseProgress:
    """Progress bars (description, bar, done/total, it/s, elapsed, remaining) for concurrent phases.

    ``enabled=False`` makes every method a no-op. ``refresh_per_second`` bounds terminal updates;
    ``clock`` is injectable for tests; ``console`` defaults to rich's console on stdout.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        refresh_per_second: float = 4.0,
        clock: Callable[[], float] = time.perf_counter,
        console: Console | None = None,
    ) -> None:
        if refresh_per_second <= 0:
            raise ValueError(f"refresh_per_second must be > 0, got {refresh_per_second}")
        self.enabled = enabled
        self.min_interval_s = 1.0 / refresh_per_second
        self.clock = clock
        self.console = console
        self.refreshes = 0
        self._progress: Progress | None = None
        self._counts: dict[int, int] = {}
        self._last_refresh = float("-inf")

    def add(self, description: str, total: int | None, completed: int = 0) -> int:
        """Show a new bar; returns its id (``-1`` when disabled)."""
        if not self.enabled:
            return -1
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[progress.data.speed]{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
                auto_refresh=False,
                transient=False,
            )
            self._progress.start()
        task = int(self._progress.add_task(description, total=total, completed=completed, rate="", status=""))
        self._counts[task] = completed
        if self.clock() - self._last_refresh >= self.min_interval_s:
            self._render()
        return task

    def advance(self, task: int, n: int = 1) -> None:
        """Count ``n`` more steps on ``task``; redraws only if the refresh interval has passed."""
        if task < 0 or task not in self._counts:
            return
        self._counts[task] += n
        if self.clock() - self._last_refresh >= self.min_interval_s:
            self._render()

    def set_status(self, task: int, status: str) -> None:
        """Text shown after the bar (e.g. the latest smoothed loss); drawn at the next refresh."""
        if task < 0 or task not in self._counts or self._progress is None:
            return
        from rich.progress import TaskID

        self._progress.update(TaskID(task), status=status)

    def _render(self) -> None:
        progress = self._progress
        if progress is None:
            return
        from rich.progress import TaskID

        for task, count in self._counts.items():
            progress.update(TaskID(task), completed=count)
        for info in progress.tasks:
            speed = info.speed
            progress.update(info.id, rate=f"{speed:.2f} it/s" if speed else "")
        progress.refresh()
        self.refreshes += 1
        self._last_refresh = self.clock()

    def remove(self, task: int) -> None:
        """Finish ``task``: draw its final state and drop it; stop the display when no bar is left."""
        if task < 0 or task not in self._counts or self._progress is None:
            return
        from rich.progress import TaskID

        self._render()
        self._progress.remove_task(TaskID(task))
        del self._counts[task]
        if not self._counts:
            self.close()

    def close(self) -> None:
        """Stop the display (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._counts.clear()
