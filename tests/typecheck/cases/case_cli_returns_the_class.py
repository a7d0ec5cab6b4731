"""Not a mistake: ``te.cli`` returns the experiment class itself, so the result is fully typed."""

from __future__ import annotations

from typing import reveal_type

import typedengine as te

from .common import Exp

cfg = te.cli(Exp, args=[])
reveal_type(cfg)  # N: Revealed type is "tests.typecheck.cases.common.Exp"
reveal_type(cfg.model.width)  # N: Revealed type is "int"
