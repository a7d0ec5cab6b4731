"""Which way a metric improves, and whether the metrics a hook watches exist: one home for both.

Used by the checkpoint hook (``save_best``), the early-stopping hook (``monitor``) and the config checks of
the root (:func:`check_metric_monitors`, called by ``RunnerConfig``'s cross-field pass).

**Rule inference** (:func:`infer_rule`) follows MMEngine's ``CheckpointHook._init_rule``: the whole key,
compared case-insensitively (``Top1``, ``accuracy/top1`` and ``val/Loss`` all work):

1. the key equals a ``greater_keys`` entry → ``greater``; equals a ``less_keys`` entry → ``less``;
2. else an entry of ``greater_keys`` is a substring of the key → ``greater``; of ``less_keys`` → ``less``;
3. else the direction is unknown: the user must give ``rule``.

One deliberate difference: MMEngine silently prefers ``greater`` when a key contains entries of both lists
(``top1_loss``, ``mAP_loss``); here that is an ambiguity the user resolves with an explicit rule, caught when
the config is validated. The same holds for a key listed in both ``greater_keys`` and ``less_keys``.

**Monitored keys** are checked where they can be: at config time when every metric config declares its
keys (:meth:`~typedengine.evaluation.metric.MetricConfig.produced_keys`), otherwise by the hooks at
the first validation (:func:`unknown_key_message` gives both the same wording, with a did-you-mean).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final, Literal, Protocol, runtime_checkable

from ..config.errors import ConfigIssue, suggest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .evaluator import EvaluatorConfig
    from .metric import MetricConfig

__all__ = [
    "DEFAULT_GREATER_KEYS",
    "DEFAULT_LESS_KEYS",
    "MonitorsMetrics",
    "Rule",
    "check_metric_monitors",
    "declared_metric_keys",
    "infer_rule",
    "rule_problem",
    "unknown_key_message",
]

Rule = Literal["greater", "less"]
"""``greater``: a larger value is better (accuracy); ``less``: a smaller value is better (loss)."""

DEFAULT_GREATER_KEYS: Final[tuple[str, ...]] = (
    "acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc",
)  # fmt: skip
"""Key names (or parts of names) for which a larger value is better: MMEngine's list."""

DEFAULT_LESS_KEYS: Final[tuple[str, ...]] = ("loss",)
"""Key names (or parts of names) for which a smaller value is better: MMEngine's list."""


def rule_problem(
    key: str,
    greater_keys: Sequence[str] = DEFAULT_GREATER_KEYS,
    less_keys: Sequence[str] = DEFAULT_LESS_KEYS,
) -> str | None:
    """Why the direction of ``key`` cannot be inferred (unknown or ambiguous), or None when it can."""
    try:
        infer_rule(key, greater_keys, less_keys)
    except ValueError as exc:
        return str(exc)
    return None


def infer_rule(
    key: str,
    greater_keys: Sequence[str] = DEFAULT_GREATER_KEYS,
    less_keys: Sequence[str] = DEFAULT_LESS_KEYS,
) -> Rule:
    """``greater`` or ``less`` for ``key`` (see the module docstring); ValueError if unknown or ambiguous."""
    lowered = key.lower()
    greater = {k.lower() for k in greater_keys}
    less = {k.lower() for k in less_keys}
    fix = "give rule='greater' or rule='less'"
    if lowered in greater and lowered in less:
        raise ValueError(f"{key!r} is listed in both greater_keys and less_keys; {fix}")
    if lowered in greater:
        return "greater"
    if lowered in less:
        return "less"
    greater_parts = sorted(k for k in greater if k in lowered)
    less_parts = sorted(k for k in less if k in lowered)
    if greater_parts and less_parts:
        raise ValueError(
            f"{key!r} contains both a larger-is-better name ({', '.join(greater_parts)}) and a "
            f"smaller-is-better name ({', '.join(less_parts)}); {fix}"
        )
    if greater_parts:
        return "greater"
    if less_parts:
        return "less"
    raise ValueError(
        f"cannot tell whether a larger or smaller {key!r} is better; {fix}, or add the key to "
        "greater_keys/less_keys"
    )


def unknown_key_message(key: str, produced: Iterable[str]) -> str:
    """``no metric produces 'acc' (the metrics produce: accuracy); did you mean 'accuracy'?``."""
    names = sorted(set(produced))
    listed = ", ".join(names) if names else "nothing"
    return f"no metric produces {key!r} (the metrics produce: {listed}){suggest(key, names)}"


@runtime_checkable
class MonitorsMetrics(Protocol):
    """A hook config that watches validation metrics and checks its own keys against the produced ones."""

    def metric_issues(self, metric_keys: Sequence[str] | None, *, validates: bool) -> list[ConfigIssue]:
        """Problems with paths relative to the hook config; ``metric_keys`` None: not declared (unknown)."""
        ...


def declared_metric_keys(evaluator: EvaluatorConfig[MetricConfig] | None) -> tuple[str, ...] | None:
    """The keys the evaluator will produce, in order, when every metric config declares them; else None.

    A single metric that declares nothing (a user's metric without ``produced_keys``) makes the whole set
    unknown: a key it may produce must not be reported as missing.
    """
    if evaluator is None:
        return None
    keys: list[str] = []
    for metric in evaluator.metrics:
        produced = metric.produced_keys()
        if not produced:
            return None
        keys.extend(produced)
    return tuple(keys)


def check_metric_monitors(
    default_hooks: BaseModel,
    custom_hooks: Sequence[object],
    val_evaluator: EvaluatorConfig[MetricConfig] | None,
    *,
    validates: bool,
) -> list[ConfigIssue]:
    """Config-time problems of every hook config that watches metrics (``save_best``, ``monitor``).

    ``default_hooks`` (its slots are reported as ``default_hooks.<slot>``) and ``custom_hooks``
    (``custom_hooks[i]``) are searched for configs implementing :class:`MonitorsMetrics`. ``validates``:
    whether the training validates at all (a val loader and an evaluator); without validation no metric is
    ever produced.
    """
    named: list[tuple[str, object]] = [
        (f"default_hooks.{name}", getattr(default_hooks, name)) for name in type(default_hooks).model_fields
    ]
    named.extend((f"custom_hooks[{i}]", cfg) for i, cfg in enumerate(custom_hooks))
    keys = declared_metric_keys(val_evaluator) if validates else ()
    issues: list[ConfigIssue] = []
    for path, cfg in named:
        if isinstance(cfg, MonitorsMetrics):
            for issue in cfg.metric_issues(keys, validates=validates):
                issues.append(ConfigIssue(f"{path}.{issue.path}" if issue.path else path, issue.message))
    return issues
