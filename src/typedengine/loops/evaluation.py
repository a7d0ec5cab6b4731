"""ValLoop and TestLoop: run the model over a loader without gradients and compute the metrics.

Validation loss convention: if ``val_step``/``test_step`` returns a tuple or list whose **last** element
is a dict whose keys all contain ``"loss"`` (e.g. ``return logits, labels, {"loss": loss}``), that dict
is removed from what the evaluator sees, each entry is averaged over the epoch (sample-weighted by
batch), and the metrics gain those keys plus ``val_loss``/``test_loss`` = their sum.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..config.base import Config

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader

    from ..evaluation.evaluator import Evaluator
    from ..runner.runner import Runner

__all__ = ["AutocastMode", "EvalLoop", "TestLoop", "TestLoopConfig", "ValLoop", "ValLoopConfig"]

AutocastMode = Literal["off", "fp16", "bf16"]


class EvalLoop:
    """Shared body of :class:`ValLoop` and :class:`TestLoop` (``mode`` selects hooks and keys)."""

    mode: Literal["val", "test"] = "val"

    def __init__(
        self,
        runner: Runner,
        dataloader: DataLoader[object],
        evaluator: Evaluator,
        autocast: AutocastMode = "off",
    ) -> None:
        self.runner = runner
        self.dataloader = dataloader
        self.evaluator = evaluator
        self.autocast = autocast
        dataset = getattr(dataloader, "dataset", None)
        meta = getattr(dataset, "metainfo", None)
        if isinstance(meta, Mapping):
            evaluator.dataset_meta = meta

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        import torch

        if self.autocast == "off":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.autocast == "fp16" else torch.bfloat16
        return torch.autocast(device_type=self.runner.device.type, dtype=dtype)

    def run(self) -> dict[str, float]:
        """Run the whole evaluation with its hooks and return the metrics."""
        import torch

        runner, mode = self.runner, self.mode
        previous_phase = runner.state.phase
        runner.state.phase = mode
        runner.call_hook(f"before_{mode}")
        runner.call_hook(f"before_{mode}_epoch")
        was_training = runner.model.training
        runner.model.eval()
        loss_sums: dict[str, torch.Tensor] = {}
        loss_count = 0
        with torch.no_grad():
            for idx, batch in enumerate(self.dataloader):
                runner.call_hook(f"before_{mode}_iter", batch_idx=idx, data_batch=batch)
                with self._autocast():
                    step = runner.model.val_step if mode == "val" else runner.model.test_step
                    outputs = step(batch)  # type: ignore[operator]  # nn.Module attribute lookup
                outputs, losses = split_losses(outputs)
                if losses:
                    n = _batch_len(outputs)
                    loss_count += n
                    for k, v in losses.items():
                        weighted = v.detach().float() * n
                        loss_sums[k] = loss_sums[k] + weighted if k in loss_sums else weighted
                self.evaluator.process(outputs, batch)
                runner.call_hook(f"after_{mode}_iter", batch_idx=idx, data_batch=batch, outputs=outputs)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))  # type: ignore[arg-type]  # map-style datasets have __len__
        if loss_sums:
            means = {k: float(v) / max(loss_count, 1) for k, v in loss_sums.items()}
            metrics.update(means)
            metrics[f"{mode}_loss"] = sum(means.values())
        runner.call_hook(f"after_{mode}_epoch", metrics=metrics)
        runner.call_hook(f"after_{mode}")
        runner.state.phase = previous_phase
        if was_training:  # a validation inside training (a loop's or a hook's) hands back a training model
            runner.model.train()
        return metrics


def split_losses(outputs: object) -> tuple[object, dict[str, torch.Tensor]]:
    """Strip a trailing ``{"loss...": tensor}`` dict from step outputs (the validation-loss convention)."""
    import torch

    if isinstance(outputs, (tuple, list)) and len(outputs) >= 2:
        last = outputs[-1]
        if (
            isinstance(last, Mapping)
            and last
            and all("loss" in str(k) and isinstance(v, torch.Tensor) for k, v in last.items())
        ):
            rest = outputs[:-1]
            return (rest[0] if len(rest) == 1 else type(outputs)(rest)), {str(k): v for k, v in last.items()}
    return outputs, {}


def _batch_len(outputs: object) -> int:
    import torch

    first = outputs[0] if isinstance(outputs, (tuple, list)) and outputs else outputs
    if isinstance(first, torch.Tensor) and first.dim() > 0:
        return int(first.shape[0])
    if isinstance(first, (list, tuple)):
        return len(first)
    return 1


class ValLoop(EvalLoop):
    """Validation: ``before_val`` → ``before_val_epoch`` → iterations → ``after_val_epoch(metrics)`` → ``after_val``."""

    mode: Literal["val", "test"] = "val"


class TestLoop(EvalLoop):
    """Test: the same as :class:`ValLoop` with ``test`` hooks and keys."""

    mode: Literal["val", "test"] = "test"


class ValLoopConfig(Config):
    """Validation loop options."""

    autocast: AutocastMode = Field("off", description="Run val_step under autocast: off, fp16 (CUDA) or bf16.")

    def build(self, runner: Runner, dataloader: DataLoader[object], evaluator: Evaluator) -> ValLoop:
        return ValLoop(runner, dataloader, evaluator, autocast=self.autocast)


class TestLoopConfig(Config):
    """Test loop options."""

    autocast: AutocastMode = Field("off", description="Run test_step under autocast: off, fp16 (CUDA) or bf16.")

    def build(self, runner: Runner, dataloader: DataLoader[object], evaluator: Evaluator) -> TestLoop:
        return TestLoop(runner, dataloader, evaluator, autocast=self.autocast)


