"""RunState: the one mutable record of a run's progress (checkpointed; configs never change)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["RunState"]


@dataclass
class RunState:
    """Progress of a run. Counters are *completed* counts.

    ``epoch``: epochs finished. ``iter``: training iterations finished (global). ``inner_iter``: iterations
    finished inside the current epoch (the resume position). ``best_scores``: best value per monitored key
    (checkpoint/early stopping). ``kept_checkpoints``: regular checkpoint files kept (oldest first), so
    ``max_keep_ckpts`` survives resume. ``phase``: the loop that is running ("train", "val", "test" or ""
    between runs). ``validated``: the epoch (epoch-based) or iteration (iteration-based) count after which
    the train loop last started a validation, so a run killed between a checkpoint and the validation due
    at that point validates on resume instead of skipping it.

    Only progress lives here: the run length and every cadence belong to the train loop's
    :class:`~typedengine.runner.schedule.RunSchedule` (``runner.train_loop.schedule``).
    """

    epoch: int = 0
    iter: int = 0
    inner_iter: int = 0
    validated: int = 0
    phase: str = ""
    best_scores: dict[str, float] = field(default_factory=dict)
    best_checkpoints: dict[str, str] = field(default_factory=dict)
    kept_checkpoints: list[str] = field(default_factory=list)
    last_checkpoint: str = ""

    def state_dict(self) -> dict[str, object]:
        """Plain data only (numbers, strings, lists, dicts): safe for ``torch.load(weights_only=True)``."""
        return asdict(self)

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore from :meth:`state_dict` output; unknown keys are ignored, missing ones keep defaults."""
        for name in self.__dataclass_fields__:
            if name in state:
                value = state[name]
                if isinstance(value, dict):
                    value = dict(value)
                elif isinstance(value, (list, tuple)):
                    value = list(value)
                setattr(self, name, value)
