"""Paramwise rules: per-parameter learning-rate and weight-decay multipliers (MMEngine's paramwise_cfg).

With rules set, every trainable parameter becomes its own param group (frozen parameters are skipped
with a warning), named by its dotted path in the model (``backbone.conv1.weight``). For each parameter:

1. ``custom_keys``: the longest key that is a substring of ``"<module path>.<param name>"`` (ties broken
   alphabetically) sets ``lr = base_lr * lr_mult`` and ``weight_decay = base_wd * decay_mult`` and
   overrides every other rule. (A parameter registered directly on the root module is matched as
   ``".<name>"``, as in MMEngine.)
2. otherwise ``bias_lr_mult`` scales the lr of biases outside normalization layers, and exactly one
   weight-decay rule applies, first match wins: ``norm_decay_mult`` (BatchNorm / InstanceNorm / GroupNorm
   / LayerNorm weights and biases) → ``bias_decay_mult`` → ``dwconv_decay_mult`` (Conv2d with
   ``in_channels == groups``) → ``flat_decay_mult`` (any other 1-D parameter).

A rule left as None does nothing. ``bypass_duplicate`` skips parameters shared by several modules.

Example::

    ParamwiseConfig(norm_decay_mult=0.0, bias_decay_mult=0.0,
                    custom_keys={"backbone": CustomKeyRule(lr_mult=0.1)})
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, TypeAdapter

from ..config.base import Config
from .cli_json import json_spec

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["CustomKeyRule", "ParamwiseConfig"]

logger = logging.getLogger("typedengine")


class CustomKeyRule(Config):
    """Multipliers for parameters whose dotted name contains a key."""

    lr_mult: float = Field(1.0, ge=0.0, description="Multiplier of the base learning rate.")
    decay_mult: float = Field(1.0, ge=0.0, description="Multiplier of the base weight decay.")


CustomKeys = Annotated[dict[str, CustomKeyRule], json_spec(TypeAdapter(dict[str, CustomKeyRule]))]
"""Name substring -> multipliers; one JSON argument on the command line."""


def _is_norm(module: nn.Module) -> bool:
    from torch import nn

    return isinstance(
        module,
        (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm),
    )


class ParamwiseConfig(Config):
    """Per-parameter lr / weight-decay multipliers; see the module docstring for the matching order."""

    custom_keys: CustomKeys = Field(
        default_factory=dict, description="Name substring -> multipliers; overrides every other rule."
    )
    bias_lr_mult: float | None = Field(
        None, ge=0.0, description="lr multiplier of biases (not in norm layers)."
    )
    bias_decay_mult: float | None = Field(None, ge=0.0, description="Weight-decay multiplier of biases.")
    norm_decay_mult: float | None = Field(
        None, ge=0.0, description="Weight-decay multiplier of normalization-layer weights and biases."
    )
    dwconv_decay_mult: float | None = Field(
        None, ge=0.0, description="Weight-decay multiplier of depth-wise Conv2d parameters."
    )
    flat_decay_mult: float | None = Field(
        None, ge=0.0, description="Weight-decay multiplier of the remaining 1-D parameters."
    )
    bypass_duplicate: bool = Field(False, description="Skip parameters already added (shared modules).")

    def __hash__(self) -> int:
        # dict fields are not hashable; the canonical JSON dump stands for the value
        return hash(self.model_dump_json())

    def uses_decay_mult(self) -> bool:
        """True when some rule multiplies the weight decay (so a base weight decay must exist)."""
        decays = (self.bias_decay_mult, self.norm_decay_mult, self.dwconv_decay_mult, self.flat_decay_mult)
        custom = any(rule.decay_mult != 1.0 for rule in self.custom_keys.values())
        return custom or any(d is not None for d in decays)

    def param_groups(
        self, model: nn.Module, *, base_lr: float, base_weight_decay: float | None
    ) -> list[dict[str, object]]:
        """One param group per trainable parameter of ``model`` with its lr / weight_decay set by the rules.

        ``base_weight_decay`` is None when the optimizer has no ``weight_decay`` argument; decay rules are
        then skipped (custom keys with a ``decay_mult`` raise, as that is surely a mistake).
        """
        if base_weight_decay is None and self.uses_decay_mult():
            raise ValueError(
                "paramwise rules multiply the weight decay but the optimizer has no weight_decay"
            )
        module = getattr(model, "module", model)  # unwrap DDP
        groups: list[dict[str, object]] = []
        seen: set[int] = set()
        keys = sorted(sorted(self.custom_keys), key=len, reverse=True)
        self._add(groups, seen, module, "", keys, base_lr, base_weight_decay)
        return groups

    def _add(
        self,
        groups: list[dict[str, object]],
        seen: set[int],
        module: nn.Module,
        prefix: str,
        keys: list[str],
        base_lr: float,
        base_wd: float | None,
    ) -> None:
        from torch import nn

        is_norm = _is_norm(module)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            if self.bypass_duplicate and id(param) in seen:
                logger.warning("paramwise: %s is a duplicate; skipped (bypass_duplicate=True)", full_name)
                continue
            if not param.requires_grad:
                logger.warning("paramwise: %s is skipped since requires_grad=False", full_name)
                continue
            seen.add(id(param))
            groups.append(self._group(param, name, prefix, keys, is_norm, is_dwconv, base_lr, base_wd))
        for child_name, child in module.named_children():
            self._add(
                groups,
                seen,
                child,
                f"{prefix}.{child_name}" if prefix else child_name,
                keys,
                base_lr,
                base_wd,
            )

    def _group(
        self,
        param: torch.Tensor,
        name: str,
        prefix: str,
        keys: list[str],
        is_norm: bool,
        is_dwconv: bool,
        base_lr: float,
        base_wd: float | None,
    ) -> dict[str, object]:
        group: dict[str, object] = {"params": [param]}
        matched = next((k for k in keys if k in f"{prefix}.{name}"), None)
        if matched is not None:
            rule = self.custom_keys[matched]
            group["lr"] = base_lr * rule.lr_mult
            if base_wd is not None:
                group["weight_decay"] = base_wd * rule.decay_mult
            group["lr_mult"] = rule.lr_mult
            group["decay_mult"] = rule.decay_mult
            return group
        if name == "bias" and not is_norm and self.bias_lr_mult is not None:
            group["lr"] = base_lr * self.bias_lr_mult
        if base_wd is not None:
            if is_norm and self.norm_decay_mult is not None:
                group["weight_decay"] = base_wd * self.norm_decay_mult
            elif name == "bias" and self.bias_decay_mult is not None:
                group["weight_decay"] = base_wd * self.bias_decay_mult
            elif is_dwconv and self.dwconv_decay_mult is not None:
                group["weight_decay"] = base_wd * self.dwconv_decay_mult
            elif param.ndim == 1 and self.flat_decay_mult is not None:
                group["weight_decay"] = base_wd * self.flat_decay_mult
        return group
