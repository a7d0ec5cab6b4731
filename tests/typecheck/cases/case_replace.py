"""Mistake: ``te.replace`` with a misspelled field or a wrong type (checked like a constructor call)."""

from __future__ import annotations

from pathlib import Path
from typing import reveal_type

import typedengine as te
from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig
from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.schedulers.linear import LinearSchedulerConfig

from .common import Exp

cfg = Exp()
a = te.replace(cfg, work_dirr=Path("runs"))  # E: Unexpected keyword argument "work_dirr" for "replace"; did you mean "work_dir"?  [call-arg]
b = te.replace(cfg, work_dir=3)  # E: Argument "work_dir" to "replace" has incompatible type "int"; expected "Path"  [arg-type]
c = te.replace(EpochBasedTrainLoopConfig(), max_epochs="5")  # E: Argument "max_epochs" to "replace" has incompatible type "str"; expected "int"  [arg-type]
d = te.replace(cfg, param_scheduler=(LinearSchedulerConfig(), SGDConfig()))  # E: Tuple item 1 of argument "param_scheduler" to "replace" has incompatible type "SGDConfig"
reveal_type(te.replace(cfg, work_dir=Path("runs")))  # N: Revealed type is "tests.typecheck.cases.common.Exp"
