"""Mistake: assigning to a field of a (frozen) config."""

from __future__ import annotations

from .common import Exp

cfg = Exp()
cfg.model.width = 64  # E: Property "width" defined in "NetConfig" is read-only  [misc]
