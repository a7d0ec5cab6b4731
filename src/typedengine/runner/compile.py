"""``torch.compile`` for training: :class:`CompileConfig`, its config-time check, and :func:`compile_train_step`.

The root config holds ``compile: CompileConfig | None`` (None: nothing is compiled). A preset that compiles
can be switched off from the command line with ``--compile.disable`` (or ``compile:none``) without losing
its other options::

    class Exp(RunnerConfig):
        compile: ... = CompileConfig(mode="max-autotune")

    python exp.py --compile.disable            # same run, eager
    python exp.py --compile.backend aot_eager  # debug a compile problem without inductor

What is compiled, and why: MMEngine compiles the bound ``train_step`` (``model.train_step =
torch.compile(model.train_step)``), which pulls the optimizer step and loss parsing into the traced code
and leaves ``val_step`` eager. Here the **model's forward is compiled in place** with
:meth:`torch.nn.Module.compile`:

- ``train_step`` / ``val_step`` / ``test_step`` keep working unchanged (they call ``self(...)``, which now
  runs the compiled forward); validation inside ``train()`` is compiled too (one extra graph for
  ``mode="predict"`` in eval mode);
- the module stays the user's class: state-dict keys gain no ``_orig_mod.`` prefix, so checkpoints, EMA and
  ``load_from`` are the same with and without compile, and ``runner.unwrapped_model`` is unchanged;
- under DDP the *inner* module is compiled and DDP keeps wrapping it (DDP's forward calls the compiled
  module; gradients are all-reduced by DDP's hooks). Compiling the DDP wrapper itself graph-breaks inside
  DDP's pre-forward on torch 2.14 and compiled nothing on CPU in our trials, so it is not done.

The Runner compiles right before the train loop starts (after ``load_or_resume``), as MMEngine does.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Config
from ..config.errors import ConfigIssue, ConfigProblems, suggest
from ..config.json_args import JsonDict

if TYPE_CHECKING:
    from torch import nn

__all__ = ["CompileConfig", "CompileMode", "check_compile", "compile_kwargs", "compile_train_step"]

CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]


class CompileConfig(Config):
    """Compile the model's forward with ``torch.compile`` before training (see the module docstring).

    Example::

        CompileConfig(mode="max-autotune", dynamic=False)
        CompileConfig(backend="aot_eager")   # trace + AOTAutograd, no code generation (debugging)
    """

    disable: bool = Field(
        False, description="Keep the settings but do not compile (switch a compiling preset off from the CLI)."
    )
    backend: str = Field(
        "inductor",
        description="torch.compile backend: a name from torch._dynamo.list_backends(exclude_tags=()), "
        "e.g. inductor, aot_eager, eager, cudagraphs.",
    )
    mode: CompileMode = Field(
        "default",
        description="Inductor preset: default, reduce-overhead (CUDA graphs), max-autotune, "
        "max-autotune-no-cudagraphs.",
    )
    fullgraph: bool = Field(
        False, description="Fail on any graph break instead of falling back to Python for that part."
    )
    dynamic: bool | None = Field(
        None,
        description="Dynamic shapes: true traces shape-generic code up front, false specialises on every "
        "shape, none (default) specialises first and turns dynamic after a shape change.",
    )
    options: JsonDict = Field(
        default_factory=dict,
        description='Backend options as a JSON object, e.g. {"triton.cudagraphs": true} for inductor '
        "(torch.compile takes either options or a non-default mode).",
    )

    @model_validator(mode="after")
    def _mode_or_options(self) -> CompileConfig:
        if self.options and self.mode != "default":
            raise ConfigProblems(
                [ConfigIssue("options", f"torch.compile takes either options or mode, not both (mode is {self.mode!r})")]
            )
        return self


def compile_kwargs(cfg: CompileConfig) -> dict[str, object]:
    """The keyword arguments ``torch.compile`` / ``nn.Module.compile`` get for ``cfg``."""
    kwargs: dict[str, object] = {"backend": cfg.backend, "fullgraph": cfg.fullgraph, "dynamic": cfg.dynamic}
    if cfg.options:
        kwargs["options"] = dict(cfg.options)
    else:
        kwargs["mode"] = cfg.mode
    return kwargs


def compile_train_step(model: nn.Module, cfg: CompileConfig) -> None:
    """Compile, in place, the forward that the model's ``train_step`` runs; nothing when ``cfg.disable``.

    ``model`` may be wrapped (DDP, DataParallel): the user's module inside is compiled. Compilation itself
    is lazy: the first forward traces and compiles (and each new forward signature, e.g. ``mode="predict"``
    in eval mode, compiles once more).
    """
    if cfg.disable:
        return
    from ..model.ddp import unwrap_model

    unwrap_model(model).compile(**compile_kwargs(cfg))


def _accepts(fn: object, name: str) -> bool:
    """Whether ``fn``'s signature names the parameter ``name`` (``**kwargs`` alone does not count)."""
    try:
        params = inspect.signature(fn).parameters  # type: ignore[arg-type]  # any callable; errors handled
    except (TypeError, ValueError):
        return False
    return name in params


def check_compile(cfg: CompileConfig, path: str = "compile") -> list[ConfigIssue]:
    """Problems of ``cfg`` on this machine's torch: the backend exists, and accepts ``mode`` / ``options``.

    Imports ``torch._dynamo`` (about a second), so call it only for a config that compiles; a disabled
    config is not checked against this installation.
    """
    if cfg.disable:
        return []
    import torch._dynamo
    from torch._dynamo.backends.registry import lookup_backend
    from torch._dynamo.eval_frame import is_dynamo_supported

    issues: list[ConfigIssue] = []
    if not is_dynamo_supported():
        issues.append(ConfigIssue(path, "torch.compile is not supported on this Python/platform; remove compile"))
        return issues
    names = torch._dynamo.list_backends(exclude_tags=())
    if cfg.backend not in names:
        issues.append(
            ConfigIssue(
                f"{path}.backend",
                f"unknown torch.compile backend {cfg.backend!r}{suggest(cfg.backend, names)} "
                "(e.g. inductor, cudagraphs, aot_eager, eager; all: torch._dynamo.list_backends(exclude_tags=()))",
            )
        )
        return issues
    if cfg.backend == "inductor":
        if cfg.options:
            issues.extend(_check_inductor_options(cfg.options, f"{path}.options"))
        return issues
    backend_fn = lookup_backend(cfg.backend)
    if cfg.mode != "default" and not _accepts(backend_fn, "mode"):
        issues.append(
            ConfigIssue(f"{path}.mode", f"mode {cfg.mode!r} is an inductor setting; backend {cfg.backend!r} ignores it")
        )
    if cfg.options and not _accepts(backend_fn, "options"):
        issues.append(ConfigIssue(f"{path}.options", f"backend {cfg.backend!r} takes no options"))
    return issues


def _check_inductor_options(options: JsonDict, path: str) -> list[ConfigIssue]:
    import torch._inductor

    list_options = getattr(torch._inductor, "list_options", None)
    if not callable(list_options):
        return []
    known = [str(name) for name in list_options()]
    return [
        ConfigIssue(f"{path}[{key!r}]", "unknown inductor option" + suggest(key, known))
        for key in options
        if key not in known
    ]
