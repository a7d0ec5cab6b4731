"""Hook priorities: MMEngine's nine named levels; an int 0–100 or a name is accepted, lower runs first."""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

__all__ = ["Priority", "PriorityName", "get_priority"]


class Priority(IntEnum):
    """Named hook priorities (lower runs first). Ties keep registration order."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


PriorityName = Literal[
    "highest", "very_high", "high", "above_normal", "normal", "below_normal", "low", "very_low", "lowest"
]


def get_priority(priority: int | str | Priority) -> int:
    """Resolve a priority given as an int (0–100), a name (any case) or a :class:`Priority`."""
    if isinstance(priority, Priority):
        return int(priority)
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f"priority must be between 0 and 100, got {priority}")
        return priority
    try:
        return int(Priority[priority.upper()])
    except KeyError:
        names = ", ".join(p.name.lower() for p in Priority)
        raise ValueError(f"unknown priority {priority!r}; expected an int 0-100 or one of {names}") from None
