"""Mistake: a wrong element in a tuple field; reported on the element's line, not where the tuple starts."""

from __future__ import annotations

from pydantic import Field

from typedengine.optim.optimizers import SGDConfig
from typedengine.optim.schedulers.choices import ParamSchedulerConfig
from typedengine.optim.schedulers.cosine import CosineAnnealingSchedulerConfig
from typedengine.optim.schedulers.linear import LinearSchedulerConfig

from .common import Exp


class Schedules(Exp):
    """A class-body default."""

    param_scheduler: tuple[ParamSchedulerConfig, ...] = (
        LinearSchedulerConfig(),
        SGDConfig(),  # E: Tuple item 1 of "param_scheduler" has incompatible type "SGDConfig"; expected
        CosineAnnealingSchedulerConfig(),
    )


class WithField(Exp):
    """A default given through Field()."""

    param_scheduler: tuple[ParamSchedulerConfig, ...] = Field(
        (
            SGDConfig(),  # E: Tuple item 0 of "param_scheduler" has incompatible type "SGDConfig"; expected
        ),
        description="Schedulers.",
    )


cfg = Exp(
    param_scheduler=(
        LinearSchedulerConfig(),
        SGDConfig(),  # E: Tuple item 1 of argument "param_scheduler" to "Exp" has incompatible type "SGDConfig"
    )
)
