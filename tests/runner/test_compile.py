"""torch.compile: CompileConfig, its config-time check, and compile_train_step (CPU, no inductor codegen).

Graphs are captured with a backend registered here that counts what Dynamo hands it and runs the graph as
traced (so numbers match eager exactly), and with ``aot_eager`` (Dynamo + AOTAutograd, no code generation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import pytest
import torch
import torch._dynamo
import torch.nn.functional as F
import tyro
from pydantic import Field, ValidationError
from torch import nn

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.cli import cli
from typedengine.config.base import Config
from typedengine.config.errors import format_validation_error
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.optim.wrapper import OptimWrapper
from typedengine.runner.compile import CompileConfig, check_compile, compile_kwargs, compile_train_step

GRAPHS: list[int] = []
"""Node counts of the graphs the counting backend compiled (cleared per test)."""


@torch._dynamo.register_backend(name="te_test_counting")
def counting_backend(gm: torch.fx.GraphModule, example_inputs: list[torch.Tensor]) -> Callable[..., object]:
    GRAPHS.append(len(gm.graph.nodes))
    return gm.forward


@pytest.fixture(autouse=True)
def fresh_dynamo() -> Iterator[None]:
    torch._dynamo.reset()
    GRAPHS.clear()
    yield
    torch._dynamo.reset()


def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    data = make_data(n=24)
    x, y = data.tensors
    return [(x[i : i + 8], y[i : i + 8]) for i in range(0, 24, 8)]


def train_three_steps(compile_cfg: CompileConfig | None) -> tuple[list[float], TinyMLP]:
    torch.manual_seed(0)
    model = TinyMLP()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9))
    if compile_cfg is not None:
        compile_train_step(model, compile_cfg)
    model.train()
    losses = [float(model.train_step(batch, wrapper)["loss"]) for batch in batches()]
    return losses, model


@pytest.mark.parametrize("backend", ["te_test_counting", "aot_eager"])
def test_compiled_training_matches_eager(backend: str) -> None:
    eager_losses, eager = train_three_steps(None)
    compiled_losses, compiled = train_three_steps(CompileConfig(backend=backend))
    assert eager_losses[0] > eager_losses[-1]  # it trains
    torch.testing.assert_close(compiled_losses, eager_losses, rtol=1e-5, atol=1e-6)
    for (name, p), (_, q) in zip(eager.named_parameters(), compiled.named_parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6, msg=name)
    # compiled in place: same class, same state-dict keys (no "_orig_mod." prefix), forward is compiled
    assert type(compiled) is TinyMLP
    assert list(compiled.state_dict()) == list(eager.state_dict())
    assert compiled._compiled_call_impl is not None
    # val_step runs the compiled forward too (predict mode, eval mode: one more graph), same predictions
    compiled.eval()
    eager.eval()
    graphs_before = len(GRAPHS)
    with torch.no_grad():
        got = compiled.val_step(batches()[0])
        want = eager.val_step(batches()[0])
    assert isinstance(got, tuple) and isinstance(want, tuple)
    torch.testing.assert_close(got[0], want[0])
    if backend == "te_test_counting":
        assert len(GRAPHS) > graphs_before > 0


def test_disable_leaves_the_model_eager() -> None:
    losses, model = train_three_steps(CompileConfig(backend="te_test_counting", disable=True))
    assert model._compiled_call_impl is None
    assert GRAPHS == []  # nothing was traced
    assert losses == train_three_steps(None)[0]


def test_wrapped_model_compiles_the_inner_module() -> None:
    torch.manual_seed(0)
    inner = TinyMLP()
    wrapped = nn.DataParallel(inner)  # no GPU: calls the module directly, like a wrapper that keeps it inside
    compile_train_step(wrapped, CompileConfig(backend="te_test_counting"))
    assert inner._compiled_call_impl is not None
    assert wrapped._compiled_call_impl is None
    x, y = batches()[0]
    out = wrapped(x, y, mode="tensor")
    assert isinstance(out, torch.Tensor) and out.shape == (8, 4)
    assert len(GRAPHS) == 1


class GraphBreak(te.BaseModel):
    """A model whose forward has a graph break (fullgraph=True must refuse it)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:
        h = self.fc(x)
        torch._dynamo.graph_break()
        if mode == "loss":
            return {"loss": F.cross_entropy(h, y)}
        return h


def test_options_reach_torch_compile() -> None:
    x, y = batches()[0]
    model = GraphBreak()
    compile_train_step(model, CompileConfig(backend="te_test_counting"))
    model(x, y, mode="loss")
    assert len(GRAPHS) == 2  # split at the break, both halves compiled
    torch._dynamo.reset()  # the code cache is per code object: drop the non-fullgraph entry
    strict = GraphBreak()
    compile_train_step(strict, CompileConfig(backend="te_test_counting", fullgraph=True))
    with pytest.raises(torch._dynamo.exc.Unsupported):
        strict(x, y, mode="loss")


def test_compile_kwargs() -> None:
    assert compile_kwargs(CompileConfig()) == {
        "backend": "inductor", "fullgraph": False, "dynamic": None, "mode": "default"
    }  # fmt: skip
    with_options = CompileConfig(options={"triton.cudagraphs": True}, dynamic=False)
    assert compile_kwargs(with_options) == {
        "backend": "inductor", "fullgraph": False, "dynamic": False, "options": {"triton.cudagraphs": True}
    }  # fmt: skip


def test_check_compile() -> None:
    assert check_compile(CompileConfig()) == []
    assert check_compile(CompileConfig(backend="te_test_counting")) == []  # a registered backend counts
    assert check_compile(CompileConfig(backend="aot_eager")) == []  # debug backends are allowed
    assert check_compile(CompileConfig(mode="max-autotune", dynamic=True)) == []
    [issue] = check_compile(CompileConfig(backend="aot_eagr"))
    assert issue.path == "compile.backend"
    assert "unknown torch.compile backend 'aot_eagr'; did you mean 'aot_eager'?" in issue.message
    [issue] = check_compile(CompileConfig(backend="eager", mode="reduce-overhead"), path="exp.compile")
    assert (issue.path, issue.message) == ("exp.compile.mode", "mode 'reduce-overhead' is an inductor setting; backend 'eager' ignores it")
    [issue] = check_compile(CompileConfig(options={"triton.cudagraph": True}))
    assert issue.path == "compile.options['triton.cudagraph']"
    assert issue.message == "unknown inductor option; did you mean 'triton.cudagraphs'?"
    assert check_compile(CompileConfig(options={"triton.cudagraphs": True})) == []
    # a disabled config is not checked against this installation
    assert check_compile(CompileConfig(backend="not-installed", disable=True)) == []


class Exp(Config):
    """A root with the compile field as RunnerConfig declares it."""

    compile: Annotated[CompileConfig, tyro.conf.subcommand("torch-compile")] | None = Field(
        None, description="torch.compile the model's forward before training (None: eager)."
    )


def test_mode_and_options_together_is_a_config_error() -> None:
    with pytest.raises(ValidationError) as info:
        Exp.model_validate({"compile": {"mode": "max-autotune", "options": {"max_autotune": True}}})
    [issue] = format_validation_error(info.value, Exp)
    assert issue.path == "compile.options"
    assert "either options or mode, not both" in issue.message


def test_cli_switches_compile_on_and_off() -> None:
    assert cli(Exp, args=[], environ={}).compile is None
    on = cli(Exp, args=["compile:torch-compile", "--compile.backend", "aot_eager", "--compile.mode", "max-autotune"], environ={})
    assert on.compile == CompileConfig(backend="aot_eager", mode="max-autotune")
    preset = Exp(compile=CompileConfig(mode="max-autotune", fullgraph=True))
    off = cli(Exp, default=preset, args=["--compile.disable"], environ={})
    assert off.compile == CompileConfig(mode="max-autotune", fullgraph=True, disable=True)
    assert cli(Exp, default=preset, args=["compile:none"], environ={}).compile is None
    opts = cli(Exp, args=["compile:torch-compile", "--compile.options", '{"triton.cudagraphs": false}'], environ={})
    assert opts.compile is not None and opts.compile.options == {"triton.cudagraphs": False}
    assert Exp.model_validate_json(opts.model_dump_json()) == opts


def run_digits_like(tmp_path: Path, cfg: CompileConfig | None) -> tuple[dict[str, torch.Tensor], float]:
    torch.manual_seed(0)
    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path,
        train_dataloader=torch.utils.data.DataLoader(make_data(n=32), batch_size=8, shuffle=False),
        train=te.EpochBasedTrainLoopConfig(max_epochs=2, val_interval=1),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.2)),
        val_dataloader=torch.utils.data.DataLoader(make_data(n=12, seed=2), batch_size=5),
        val_evaluator=te.AccuracyConfig(),
        default_hooks=DefaultHooksConfig(checkpoint=None),
        randomness=te.RandomnessConfig(seed=3),
        compile=cfg,
    )
    with runner:
        model = runner.train()
        metrics = runner.val_loop.run()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, metrics["accuracy"]


def test_runner_trains_and_validates_the_compiled_model(tmp_path: Path) -> None:
    eager_state, eager_acc = run_digits_like(tmp_path / "eager", None)
    assert GRAPHS == []
    state, acc = run_digits_like(tmp_path / "compiled", CompileConfig(backend="te_test_counting"))
    assert len(GRAPHS) >= 2  # the loss-mode training graph and the predict-mode validation graph
    assert list(state) == list(eager_state)
    for key, value in eager_state.items():
        torch.testing.assert_close(state[key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert acc == eager_acc
