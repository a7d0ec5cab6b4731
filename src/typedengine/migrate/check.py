"""typedengine's own cross-field checks on a migrated experiment, at migration time.

A faithful translation can still be refused when the experiment is loaded: MMEngine runs a cosine
schedule whose ``end`` lies past a shortened ``max_epochs`` without a word, typedengine's root config says
the schedule never finishes. Running the same checks here (:func:`~typedengine.runner.config.cross_field_issues`,
the one home of those rules) lets the written file say so at its top, and the command on stderr, instead
of the user finding out at the first ``--plan``.

The placeholders stand in as their base configs (a dataset declares the length the migration found);
the device is taken to be a GPU, since MMEngine configs are written for one, so no check has to probe
for CUDA (or import torch).
"""

from __future__ import annotations

from pydantic import BaseModel

from ..data.dataset import DatasetConfig
from ..evaluation.metric import MetricConfig
from ..model.config import ModelConfig
from .experiment import ConfigNode, Experiment, Node, Stub, StubRef

__all__ = ["typedengine_refusals"]


def typedengine_refusals(exp: Experiment) -> list[str]:
    """``path: message`` for every problem typedengine's root checks find in the migrated values."""
    from ..runner.config import RunnerConfig, cross_field_issues
    from ..runner.env import EnvConfig

    fields: dict[str, object] = {f.name: _stand_in(f.value) for f in exp.fields}
    env = fields.get("env")
    env = env if isinstance(env, EnvConfig) else EnvConfig()
    fields["env"] = env.model_copy(update={"device": "cuda"})
    fields["compile"] = None  # its check probes torch's backends; the written file checks it when loaded
    fields.setdefault("model", ModelConfig())
    root = RunnerConfig.model_construct(**fields)  # type: ignore[arg-type]  # stand-ins, validated piecewise already
    return [str(issue) for issue in cross_field_issues(root)]


def _stand_in(node: Node) -> object:
    if isinstance(node, StubRef):
        return _placeholder(node.stub)
    if isinstance(node, ConfigNode):
        update = {name: _stand_in(value) for name, value in node.overrides.items()}
        return node.config.model_copy(update=update) if update else node.config
    if isinstance(node, tuple):
        return tuple(_stand_in(v) for v in node)
    return node


def _placeholder(stub: Stub) -> BaseModel:
    if stub.kind == "model":
        return ModelConfig()
    if stub.kind == "metric":
        return MetricConfig()
    length = stub.length

    def declared_length(self: DatasetConfig) -> int | None:
        return length

    cls = type(
        stub.class_name, (DatasetConfig,), {"declared_length": declared_length, "__module__": __name__}
    )
    instance: BaseModel = cls()
    return instance
