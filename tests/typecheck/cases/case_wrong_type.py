"""Mistake: a value of the wrong type."""

from __future__ import annotations

from .common import Exp, NetConfig

cfg = Exp(model=NetConfig(width="wide"))  # E: Argument "width" to "NetConfig" has incompatible type "str"; expected "int"  [arg-type]
