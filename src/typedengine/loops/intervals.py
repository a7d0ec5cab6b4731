"""Validation cadence shared by the train loops: ``val_begin``, ``val_interval`` and ``dynamic_intervals``."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

__all__ = ["interval_at", "should_validate"]


def interval_at(count: int, base_interval: int, dynamic_intervals: Sequence[tuple[int, int]]) -> int:
    """The validation interval in force once ``count`` epochs/iterations are complete.

    ``dynamic_intervals=((m, k), ...)`` switches the interval to ``k`` from the ``m``-th epoch/iteration on
    (inclusive). MMEngine applies the switch one step early (``(6, 1)`` validates after epoch 5 too); we
    apply it where it says.
    """
    if not dynamic_intervals:
        return base_interval
    milestones = [m for m, _ in dynamic_intervals]
    i = bisect.bisect_right(milestones, count)
    return base_interval if i == 0 else dynamic_intervals[i - 1][1]


def should_validate(
    count: int, *, total: int, val_begin: int, val_interval: int, dynamic_intervals: Sequence[tuple[int, int]]
) -> bool:
    """Validate after ``count`` completed epochs/iterations? The last one always validates (if >= begin)."""
    if count < val_begin:
        return False
    interval = interval_at(count, val_interval, dynamic_intervals)
    return count % interval == 0 or count == total
