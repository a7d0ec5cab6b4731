"""BaseModel: the model contract the runner drives (MMEngine's ``BaseModel``), and ``ModelConfig``.

A model implements ``forward(*inputs, mode=...)`` with three modes:

- ``"loss"``: return a dict of losses (and other scalars to log);
- ``"predict"``: return predictions, handed to the evaluator's metrics;
- ``"tensor"``: return raw outputs.

``train_step`` / ``val_step`` / ``test_step`` wrap ``forward`` with the data preprocessor, the optimizer
wrapper and loss parsing, so most models only write ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn
from torch.nn.modules import module as _module_globals

from ..batches import DataBatch, StepOutputs
from .preprocessor_modules import build_base_data_preprocessor

if TYPE_CHECKING:
    from ..optim.wrapper import OptimWrapper

__all__ = ["BaseModel", "ForwardMode", "direct_call"]

ForwardMode = Literal["loss", "predict", "tensor"]


def direct_call(module: nn.Module) -> Callable[..., object]:
    """``module.forward`` when calling it is the same as calling ``module``, else ``module`` itself.

    ``nn.Module.__call__`` only adds hooks (the module's own or global ones), JIT tracing and a compiled
    call (``Module.compile``); when none of them is present it calls ``forward``, at a cost of several
    microseconds per call on the training step's hot path. Checked at every call, so hooks registered
    later (FSDP2's, a user's) are honoured.
    """
    if (
        module._forward_pre_hooks
        or module._forward_hooks
        or module._backward_pre_hooks
        or module._backward_hooks
        or module._compiled_call_impl is not None
        or _module_globals._global_forward_pre_hooks
        or _module_globals._global_forward_hooks
        or _module_globals._global_backward_pre_hooks
        or _module_globals._global_backward_hooks
        or torch._C._get_tracing_state()
    ):
        return module
    return module.forward


class BaseModel(nn.Module):
    """Base class of models trained by the runner.

    Args:
        data_preprocessor: a module called as ``data_preprocessor(batch, training)`` that moves the batch
            to the model's device (default: :class:`~typedengine.model.preprocessor_modules.BaseDataPreprocessor`).

    Example::

        class Net(BaseModel):
            def __init__(self) -> None:
                super().__init__()
                self.fc = nn.Linear(64, 10)
            def forward(self, x, y, mode="tensor"):
                logits = self.fc(x)
                if mode == "loss":
                    return {"loss": F.cross_entropy(logits, y)}
                if mode == "predict":
                    return logits, y
                return logits
    """

    def __init__(self, data_preprocessor: nn.Module | None = None) -> None:
        super().__init__()
        self.data_preprocessor = data_preprocessor if data_preprocessor is not None else build_base_data_preprocessor()

    def _preprocessor(self) -> nn.Module:
        # the registered submodule, read without nn.Module.__getattr__ (a Python-level fallback that costs
        # microseconds per training step); an attribute set another way is still found
        module = self._modules.get("data_preprocessor")
        return module if module is not None else self.data_preprocessor

    def run_forward(self, data: object, mode: ForwardMode) -> object:
        """Call ``self(...)`` unpacking a dict as keywords and a list/tuple as positional arguments."""
        call = direct_call(self)
        kind = type(data)
        if kind is list or kind is tuple:
            return call(*data, mode=mode)  # type: ignore[misc]  # checked: a list or tuple
        if kind is dict or isinstance(data, Mapping):
            return call(**data, mode=mode)  # type: ignore[arg-type]  # checked: a mapping
        if isinstance(data, (list, tuple)):
            return call(*data, mode=mode)
        return call(data, mode=mode)

    def train_step(self, data: DataBatch, optim_wrapper: OptimWrapper) -> dict[str, torch.Tensor]:
        """One training step: preprocess, forward in ``loss`` mode, parse losses, update parameters.

        Returns the log variables (detached device tensors; no host synchronisation).
        """
        with optim_wrapper.optim_context(self):
            batch = direct_call(self._preprocessor())(data, True)
            losses = self.run_forward(batch, mode="loss")
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def val_step(self, data: DataBatch) -> StepOutputs:
        """Preprocess and run ``forward`` in ``predict`` mode (no gradients: the loop disables them)."""
        return self.run_forward(direct_call(self._preprocessor())(data, False), mode="predict")

    def test_step(self, data: DataBatch) -> StepOutputs:
        """Same as :meth:`val_step` for the test set."""
        return self.run_forward(direct_call(self._preprocessor())(data, False), mode="predict")

    @staticmethod
    def parse_losses(losses: object) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sum every entry whose key contains ``"loss"``; log every entry (mean of tensors / list of tensors).

        Returns ``(loss, log_vars)``; ``log_vars["loss"]`` is the detached total and comes first.
        """
        if type(losses) is dict and len(losses) == 1:
            only = losses.get("loss")
            if isinstance(only, torch.Tensor) and only.dim() == 0:  # the common case, without the loop
                return only, {"loss": only.detach()}
        if not isinstance(losses, Mapping):
            raise TypeError(
                f"forward(mode='loss') must return a dict of tensors, got {type(losses).__name__}"
            )
        log_vars: dict[str, torch.Tensor] = {}
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars[name] = value if value.dim() == 0 else value.mean()
            elif isinstance(value, Sequence) and value and all(isinstance(v, torch.Tensor) for v in value):
                log_vars[name] = torch.stack([v.mean() for v in value]).sum()
            elif isinstance(value, (int, float)):
                log_vars[name] = torch.tensor(float(value))
            else:
                raise TypeError(f"loss entry {name!r} must be a tensor or a list of tensors, got {type(value).__name__}")
        parts = [v for k, v in log_vars.items() if "loss" in k]
        if not parts:
            raise ValueError(f"forward(mode='loss') returned no key containing 'loss' (keys: {list(log_vars)})")
        loss = parts[0] if len(parts) == 1 else torch.stack(parts).sum()
        out = {"loss": loss.detach()}
        out.update({k: v.detach() for k, v in log_vars.items() if k != "loss"})
        return loss, out
