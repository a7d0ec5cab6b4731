"""Errors raised by checkpoint reading, writing, loading and resuming; each names the file or keys involved."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import Fault, UsageError

__all__ = ["CheckpointError", "IncompatibleResumeError", "WeightsMismatchError"]


class CheckpointError(Fault):
    """A checkpoint file could not be written, read or verified.

    ``path`` is the file concerned; the message always starts with it, so one line in a log says which file
    and what went wrong (``/runs/a/epoch_3.pth: checksum mismatch ...``).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WeightsMismatchError(UsageError):
    """``strict=True`` weight loading found keys that do not match the model; the model is left unchanged."""

    def __init__(
        self,
        missing_keys: Sequence[str],
        unexpected_keys: Sequence[str],
        shape_mismatches: Sequence[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        self.missing_keys = tuple(missing_keys)
        self.unexpected_keys = tuple(unexpected_keys)
        self.shape_mismatches = tuple(shape_mismatches)
        lines = ["the weights do not match the model (strict=True); nothing was loaded"]
        if self.missing_keys:
            lines.append(f"missing keys ({len(self.missing_keys)}): {', '.join(self.missing_keys)}")
        if self.unexpected_keys:
            lines.append(f"unexpected keys ({len(self.unexpected_keys)}): {', '.join(self.unexpected_keys)}")
        for key, got, want in self.shape_mismatches:
            lines.append(f"shape mismatch for {key}: checkpoint {list(got)}, model {list(want)}")
        super().__init__("\n".join(lines))


class IncompatibleResumeError(UsageError):
    """The new config differs from the checkpoint's in ways that make an exact resume impossible.

    The message holds the table of differences; pass ``force=True`` (CLI ``--resume-force``) to resume anyway.
    """
