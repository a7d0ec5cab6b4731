"""CheckpointHook and its config, driven by a real Runner on a tiny model (in-process)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from pydantic import ValidationError
from torch.utils.data import Dataset

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.checkpoint.errors import CheckpointError, IncompatibleResumeError
from typedengine.checkpoint.io import LAST_CHECKPOINT, load_checkpoint_file
from typedengine.errors import UsageError
from typedengine.evaluation.evaluator import EvaluatorConfig
from typedengine.evaluation.rules import infer_rule
from typedengine.hooks.checkpoint import CheckpointHook, CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """A run that raises mid-training never removes its preemption handlers: put them back per test."""
    signals = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
    saved = {sig: signal.getsignal(sig) for sig in signals}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


class Tensors(te.DatasetConfig):
    n: int = 40

    def build(self) -> torch.utils.data.TensorDataset:
        return make_data(n=self.n)

    def declared_length(self) -> int:
        return self.n


class ScriptedMetric(te.BaseMetric):
    """Reports the next values of a script at each evaluation (one dict per validation)."""

    def __init__(self, script: Sequence[Mapping[str, float]]) -> None:
        super().__init__()
        self.script = list(script)
        self.calls = 0

    def process(self, data_batch: object, data_samples: object) -> None:
        self.results.append(1)

    def compute_metrics(self, results: list[object]) -> Mapping[str, float]:
        values = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return dict(values)


def _runner(
    work_dir: Path,
    hook: CheckpointHook | None,
    *,
    epochs: int = 3,
    n: int = 40,
    batch_size: int = 8,
    metric: te.BaseMetric | None = None,
    resume: bool | Path = False,
    load_from: Path | None = None,
    config: te.RunnerConfig | None = None,
) -> te.Runner:
    torch.manual_seed(0)
    return te.Runner(
        model=TinyMLP(),
        work_dir=work_dir,
        train_dataloader=te.DataLoaderConfig[Tensors](dataset=Tensors(n=n), batch_size=batch_size),
        train=te.EpochBasedTrainLoopConfig(max_epochs=epochs),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.05, momentum=0.9)),
        val_dataloader=te.DataLoaderConfig[Tensors](dataset=Tensors(n=16), batch_size=8, shuffle=False)
        if metric is not None
        else None,
        val_evaluator=metric,
        randomness=te.RandomnessConfig(seed=5),
        default_hooks=DefaultHooksConfig(checkpoint=None),
        custom_hooks=[hook] if hook is not None else [],
        resume=resume,
        load_from=load_from,
        config=config,
    )


def _names(directory: Path, pattern: str = "*.pth") -> list[str]:
    return sorted(p.name for p in directory.glob(pattern))


# --------------------------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------------------------
def test_config_defaults_build_a_very_low_priority_hook() -> None:
    hook = CheckpointHookConfig().build()
    assert isinstance(hook, CheckpointHook)
    assert hook.priority == te.Priority.VERY_LOW
    assert (hook.interval, hook.by_epoch, hook.filename_tmpl) == (1, True, "epoch_{}.pth")
    assert CheckpointHookConfig(by_epoch=False).build().filename_tmpl == "iter_{}.pth"
    cfg = CheckpointHookConfig.model_validate({"save_best": "accuracy", "published_keys": "state_dict"})
    assert cfg.save_best == ("accuracy",) and cfg.published_keys == ("state_dict",)
    assert CheckpointHookConfig.model_validate_json(cfg.model_dump_json()) == cfg


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"filename_tmpl": "ckpt.pth"}, "exactly one '{}'"),
        ({"filename_tmpl": "ep_{}_{}.pth"}, "exactly one '{}'"),
        ({"filename_tmpl": "ep_{epoch}.pth"}, "exactly one '{}'"),
        ({"filename_tmpl": "sub/ep_{}.pth"}, "a file name, not a path"),
        ({"save_best": ("f1_weird",)}, "cannot tell whether a larger or smaller 'f1_weird' is better"),
        ({"save_best": ("a", "b"), "rule": ("greater", "less", "less")}, "give 1 or 2 entries"),
        ({"interval": -2}, "greater than or equal to -1"),
    ],
)
def test_config_errors_name_the_problem(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CheckpointHookConfig.model_validate(fields)


def test_rule_inference_matches_mmengine() -> None:
    greater, less = ("acc", "top", "AR@", "auc", "precision", "mAP"), ("loss",)
    assert infer_rule("acc", greater, less) == "greater"
    assert infer_rule("accuracy/top1", greater, less) == "greater"
    assert infer_rule("val/loss", greater, less) == "less"
    assert infer_rule("loss_cls", greater, less) == "less"
    assert infer_rule("bbox_mAP", greater, less) == "greater"
    # case-insensitive, on the whole key (MMEngine's _init_rule)
    assert infer_rule("Top1", greater, less) == "greater" and infer_rule("val/Loss", greater, less) == "less"
    assert infer_rule("coco/bbox_map", greater, less) == "greater" and infer_rule("ar@100", greater, less) == "greater"
    assert infer_rule("recall", ("recall",), less) == "greater"  # an exact entry of the user's list
    assert CheckpointHookConfig(save_best=("f1",), rule=("greater",)).build().rules == {"f1": "greater"}
    assert CheckpointHookConfig(save_best=("Top1",)).build().rules == {"Top1": "greater"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"save_best": ("top1_loss",)}, r"save_best\[0\]: 'top1_loss' contains both a larger-is-better name \(top\)"),
        ({"save_best": ("acc", "mAP_loss")}, r"save_best\[1\]: 'mAP_loss' contains both"),
        ({"save_best": ("recall",), "greater_keys": ("recall",), "less_keys": ("Recall",)}, "listed in both"),
        ({"save_best": ("acc", "acc")}, r"save_best\[1\]: 'acc' is listed twice"),
    ],
)
def test_keys_of_both_kinds_need_an_explicit_rule_at_config_time(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CheckpointHookConfig.model_validate(fields)
    CheckpointHookConfig.model_validate({**fields, "rule": ("less",)}) if "twice" not in message else None


def test_auto_resolves_to_a_capitalised_first_metric_and_survives_resume(tmp_path: Path) -> None:
    script = [{"Top1": 10.0, "loss": 3.0}, {"Top1": 30.0, "loss": 2.0}, {"Top1": 20.0, "loss": 1.0}]
    hook = CheckpointHook(interval=1, save_best=("auto",))
    runner = _runner(tmp_path, hook, epochs=2, metric=ScriptedMetric(script))
    runner.train()  # MMEngine's rules and main's crashed here: 'Top1' matched nothing case-sensitively
    assert hook.auto_key == "Top1" and hook.rules == {"Top1": "greater"}
    assert _names(tmp_path, "best_*") == ["best_Top1_epoch_2.pth"]
    stored = load_checkpoint_file(tmp_path / "epoch_2.pth")["save_best"]
    assert stored == {"auto": "Top1", "rules": {"Top1": "greater"}}
    # resumed with a metric whose first key is now 'loss': 'auto' stays 'Top1' (no switch mid-run)
    later = [{"loss": 0.5, "Top1": 25.0}]
    resumed_hook = CheckpointHook(interval=1, save_best=("auto",))
    resumed = _runner(tmp_path, resumed_hook, epochs=3, metric=ScriptedMetric(later), resume=True)
    resumed.train()
    assert resumed_hook.auto_key == "Top1"
    assert resumed.state.best_scores == {"Top1": 30.0}  # 25 does not beat the stored 30
    assert _names(tmp_path, "best_*") == ["best_Top1_epoch_2.pth"]


def test_auto_with_a_metric_of_unknown_direction_is_a_usage_error_at_the_first_validation(tmp_path: Path) -> None:
    hook = CheckpointHook(interval=1, save_best=("auto",))
    with pytest.raises(UsageError, match=r"save_best='auto'\): 'auto' is the first metric 'f1', and cannot tell"):
        _runner(tmp_path, hook, epochs=2, metric=ScriptedMetric([{"f1": 0.5}])).train()
    hook = CheckpointHook(interval=1, save_best=("auto",), rule=("greater",))
    _runner(tmp_path / "given", hook, epochs=1, metric=ScriptedMetric([{"f1": 0.5}])).train()
    assert hook.rules == {"f1": "greater"}


def test_a_best_key_no_metric_produces_is_a_usage_error_at_the_first_validation(tmp_path: Path) -> None:
    hook = CheckpointHook(interval=1, save_best=("acuracy",), rule=("greater",))
    runner = _runner(tmp_path, hook, epochs=3, metric=ScriptedMetric([{"accuracy": 1.0, "loss": 0.1}]))
    with pytest.raises(UsageError) as info:
        runner.train()
    assert str(info.value) == (
        "CheckpointHook(save_best): no metric produces 'acuracy' (the metrics produce: accuracy, loss); "
        "did you mean 'accuracy'?"
    )
    assert runner.state.epoch == 1


def test_a_standalone_validation_saves_no_best_checkpoint(tmp_path: Path) -> None:
    hook = CheckpointHook(interval=1, save_best=("accuracy",))
    runner = _runner(tmp_path, hook, epochs=1, metric=ScriptedMetric([{"accuracy": 1.0}]))
    runner.val()
    assert _names(tmp_path) == []


def _experiment(**fields: object) -> te.RunnerConfig:
    from tests.hooks.test_early_stopping import _experiment as make

    return make(**fields)


def test_config_time_save_best_check_names_the_path_the_keys_and_a_suggestion() -> None:
    from typedengine.config.errors import ConfigError

    hooks = DefaultHooksConfig(checkpoint=CheckpointHookConfig(save_best=("accuracy/top1", "acc/top5")))
    with pytest.raises((ValidationError, ConfigError)) as info:
        _experiment(default_hooks=hooks)
    text = str(info.value)
    assert (
        "default_hooks.checkpoint.save_best[1]: no metric produces 'acc/top5' (the metrics produce: accuracy/top1, "
        "accuracy/top5); did you mean 'accuracy/top5'?"
    ) in text
    assert "save_best[0]" not in text
    with pytest.raises((ValidationError, ConfigError), match="the run does not validate"):
        _experiment(default_hooks=hooks, val_dataloader=None, val_evaluator=None)
    _experiment(default_hooks=DefaultHooksConfig(checkpoint=CheckpointHookConfig(save_best=("auto",))))
    # a metric config that declares no keys: nothing can be checked before the run
    from typedengine.evaluation.metric import MetricConfig

    class Undeclared(MetricConfig):
        def build(self) -> te.BaseMetric:
            return ScriptedMetric([{"x": 1.0}])

    class OwnMetrics(te.RunnerConfig):
        val_evaluator: EvaluatorConfig[Undeclared] | None = None  # type: ignore[assignment]

    base = _experiment().model_dump()
    base.pop("val_evaluator")
    OwnMetrics.model_validate(
        {**base, "model": _experiment().model, "default_hooks": hooks, "val_evaluator": {"metrics": [{}]}}
    )


# --------------------------------------------------------------------------------------------------------
# regular saves and pruning
# --------------------------------------------------------------------------------------------------------
def test_epoch_cadence_save_begin_and_save_last(tmp_path: Path) -> None:
    # MMEngine's rule: save when (count - save_begin) % interval == 0 and count >= save_begin
    _runner(tmp_path, CheckpointHook(interval=2, save_begin=1), epochs=6).train()
    assert _names(tmp_path) == ["epoch_1.pth", "epoch_3.pth", "epoch_5.pth", "epoch_6.pth"]
    assert (tmp_path / LAST_CHECKPOINT).read_text() == "epoch_6.pth\n"
    ckpt = load_checkpoint_file(tmp_path / "epoch_3.pth")
    state = ckpt["run_state"]
    assert isinstance(state, dict)
    assert (state["epoch"], state["iter"], state["inner_iter"]) == (3, 15, 0)  # completed counts
    meta = ckpt["meta"]
    assert isinstance(meta, dict) and (meta["epoch"], meta["iter"], meta["seed"]) == (3, 15, 5)
    assert set(meta["versions"]) == {"typedengine", "torch", "python"}  # type: ignore[arg-type]


def test_iteration_cadence_in_an_epoch_loop_with_template_and_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    hook = CheckpointHook(
        interval=4, by_epoch=False, save_last=False, filename_tmpl="step{}.ckpt", out_dir=out
    )
    _runner(tmp_path / "work", hook, epochs=2).train()  # 5 iterations per epoch
    assert _names(out / "work", "*.ckpt") == ["step4.ckpt", "step8.ckpt"]
    assert (tmp_path / "work" / LAST_CHECKPOINT).read_text() == "../elsewhere/work/step8.ckpt\n"
    state = load_checkpoint_file(out / "work" / "step4.ckpt")["run_state"]
    assert isinstance(state, dict)
    assert (state["epoch"], state["iter"], state["inner_iter"]) == (0, 4, 4)


def test_interval_minus_one_saves_only_the_last(tmp_path: Path) -> None:
    _runner(tmp_path, CheckpointHook(interval=-1), epochs=3).train()
    assert _names(tmp_path) == ["epoch_3.pth"]


def test_max_keep_prunes_after_the_new_file_is_safe(tmp_path: Path) -> None:
    deleted_while_saving: list[list[str]] = []

    class Watch(te.Hook):
        def before_save_checkpoint(self, runner: te.Runner, checkpoint: dict[str, object]) -> None:
            deleted_while_saving.append(_names(tmp_path))

    runner = _runner(tmp_path, CheckpointHook(interval=1, max_keep_ckpts=2), epochs=4)
    runner.register_hook(Watch())
    runner.train()
    assert _names(tmp_path) == ["epoch_3.pth", "epoch_4.pth"]
    # when epoch_3 was being written, epoch_1 still existed: pruning waits for the new file
    assert deleted_while_saving[2] == ["epoch_1.pth", "epoch_2.pth"]
    assert runner.state.kept_checkpoints == ["epoch_3.pth", "epoch_4.pth"]
    stored = load_checkpoint_file(tmp_path / "epoch_4.pth")["run_state"]
    assert isinstance(stored, dict) and stored["kept_checkpoints"] == ["epoch_3.pth", "epoch_4.pth"]


# --------------------------------------------------------------------------------------------------------
# best checkpoints
# --------------------------------------------------------------------------------------------------------
def test_save_best_greater_and_less_keys_replace_the_previous_best(tmp_path: Path) -> None:
    script = [{"acc": 50.0, "loss": 1.0}, {"acc": 70.0, "loss": 1.2}, {"acc": 60.0, "loss": 0.5}]
    hook = CheckpointHook(interval=-1, save_last=False, save_best=("acc", "loss"))
    runner = _runner(tmp_path, hook, epochs=3, metric=ScriptedMetric(script))
    runner.train()
    assert _names(tmp_path, "best_*") == ["best_acc_epoch_2.pth", "best_loss_epoch_3.pth"]
    assert runner.state.best_scores == {"acc": 70.0, "loss": 0.5}
    assert runner.state.best_checkpoints == {"acc": "best_acc_epoch_2.pth", "loss": "best_loss_epoch_3.pth"}
    best = load_checkpoint_file(tmp_path / "best_acc_epoch_2.pth")
    assert "optimizer" not in best and "param_schedulers" not in best
    assert _names(tmp_path, "epoch_*") == []  # no regular checkpoint existed, so none is re-saved


def test_a_new_best_re_saves_the_regular_checkpoint_so_resume_knows_it(tmp_path: Path) -> None:
    script = [{"accuracy": 10.0}, {"accuracy": 30.0}, {"accuracy": 20.0}, {"accuracy": 40.0}]
    hook = CheckpointHook(interval=3, save_best=("auto",))
    runner = _runner(tmp_path, hook, epochs=4, metric=ScriptedMetric(script))
    runner.train()
    # regular: epoch_3 (interval) and epoch_4 (last, written before its validation); the new best at
    # epoch 4 re-writes epoch_4 after validation. The bests at epochs 1-2 had no regular file to refresh.
    assert _names(tmp_path, "epoch_*") == ["epoch_3.pth", "epoch_4.pth"]
    assert _names(tmp_path, "best_*") == ["best_accuracy_epoch_4.pth"]
    third = load_checkpoint_file(tmp_path / "epoch_3.pth")["run_state"]
    fourth = load_checkpoint_file(tmp_path / "epoch_4.pth")["run_state"]
    assert isinstance(third, dict) and third["best_scores"] == {"accuracy": 30.0}
    assert isinstance(fourth, dict) and fourth["best_scores"] == {"accuracy": 40.0}
    assert fourth["best_checkpoints"] == {"accuracy": "best_accuracy_epoch_4.pth"}


def test_published_keys_export_last_and_best(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    hook = CheckpointHook(interval=-1, save_best=("accuracy",), published_keys=("meta", "state_dict"))
    runner = _runner(tmp_path, hook, epochs=2, metric=ScriptedMetric([{"accuracy": 1.0}, {"accuracy": 0.5}]))
    runner.train()
    exported = _names(tmp_path, "*.safetensors")
    assert [n.split("-")[0] for n in exported] == ["best_accuracy_epoch_1", "epoch_2"]
    last = load_file(str(next(tmp_path.glob("epoch_2-*.safetensors"))))
    final = runner.unwrapped_model.state_dict()
    assert last.keys() == final.keys() and all(torch.equal(last[k], final[k]) for k in final)


# --------------------------------------------------------------------------------------------------------
# resume and load through the runner
# --------------------------------------------------------------------------------------------------------
class CountingData(te.DatasetConfig):
    """A dataset that records every index fetched (to prove resume does not replay the loader)."""

    n: int = 40

    def build(self) -> Dataset[tuple[torch.Tensor, torch.Tensor]]:
        return _Counting(make_data(n=self.n))


class _Counting(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    fetched: ClassVar[list[int]] = []

    def __init__(self, data: torch.utils.data.TensorDataset) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        _Counting.fetched.append(i)
        x, y = self.data[i]
        return x, y


class _Stop(Exception):
    pass


class _StopAt(te.Hook):
    priority = "lowest"

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if runner.state.iter + 1 == self.at:
            raise _Stop


def _counting_runner(work_dir: Path, resume: bool) -> te.Runner:
    torch.manual_seed(0)
    return te.Runner(
        model=TinyMLP(),
        work_dir=work_dir,
        train_dataloader=te.DataLoaderConfig[CountingData](dataset=CountingData(), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.05)),
        randomness=te.RandomnessConfig(seed=5),
        default_hooks=DefaultHooksConfig(checkpoint=None),
        custom_hooks=[CheckpointHook(interval=3, by_epoch=False, handle_signals=False)],
        resume=resume,
    )


def test_mid_epoch_resume_fetches_only_the_remaining_samples(tmp_path: Path) -> None:
    first = _counting_runner(tmp_path, resume=False)
    first.register_hook(_StopAt(8))
    _Counting.fetched = []
    with pytest.raises(_Stop):
        first.train()
    order = first.train_loop.dataloader.sampler.rank_indices()  # type: ignore[attr-defined]
    assert _Counting.fetched == order[:32]  # 8 batches of 4 fetched before the stop
    _Counting.fetched = []
    resumed = _counting_runner(tmp_path, resume=True)
    resumed.train()
    # resumed from iter_6: epoch 0 continues at sample 24 (no replay of samples 0..23), then epoch 1
    assert _Counting.fetched[:16] == order[24:]
    assert len(_Counting.fetched) == 16 + 40
    assert resumed.state.iter == 20


def _ddp_weights(tmp_path: Path) -> tuple[TinyMLP, Path]:
    torch.manual_seed(1)
    source = TinyMLP()
    path = tmp_path / "ddp_weights.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    return source, path


def test_load_from_file_strips_module_prefix_and_strict_lists_keys(tmp_path: Path) -> None:
    from typedengine.checkpoint.contents import load_from_file
    from typedengine.checkpoint.errors import WeightsMismatchError

    source, path = _ddp_weights(tmp_path)
    runner = _runner(tmp_path / "w", None, epochs=1)
    report = load_from_file(runner, path, strict=True)
    assert report.exact
    for k, v in source.state_dict().items():
        assert torch.equal(runner.unwrapped_model.state_dict()[k], v)
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys \(4\): module.net.0.weight"):
        load_from_file(runner, path, strict=True, revise_keys=())


def test_runner_load_from_accepts_foreign_weights(tmp_path: Path) -> None:
    source, path = _ddp_weights(tmp_path)
    runner = _runner(tmp_path / "w", None, epochs=1, load_from=path)
    runner.load_or_resume()
    for k, v in source.state_dict().items():
        assert torch.equal(runner.unwrapped_model.state_dict()[k], v)


def test_auto_resume_with_only_a_corrupted_file_refuses_and_changes_nothing(tmp_path: Path) -> None:
    _runner(tmp_path, CheckpointHook(interval=1), epochs=1).train()
    ckpt = tmp_path / "epoch_1.pth"
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(CheckpointError) as info:
        _runner(tmp_path, CheckpointHook(interval=1), epochs=2, resume=True).train()
    text = str(info.value)
    assert text.startswith(f"{tmp_path}: resume=True found checkpoints but none to resume from; nothing was changed")
    assert f"cannot resume from {ckpt}: checksum mismatch" in text
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_incompatible_config_refuses_unless_forced(tmp_path: Path) -> None:
    from tests.checkpoint.harness import experiment

    base = {"work_dir": str(tmp_path), "max_epochs": 2, "interval": 1, "hook_by_epoch": True, "val": False}
    te.Runner.from_config(experiment(base)).train()
    changed = experiment({**base, "resume": True, "accumulate": 2, "max_epochs": 3})
    with pytest.raises(IncompatibleResumeError) as info:
        te.Runner.from_config(changed).train()
    text = str(info.value)
    assert "optim_wrapper.accumulative_counts" in text and "REFUSE" in text
    assert "train.max_epochs" in text and "SAFE" in text
    forced = te.Runner.from_config(te.replace(changed, resume_force=True))
    forced.train()
    assert forced.state.epoch == 3


def test_resume_from_the_last_iteration_of_an_epoch(tmp_path: Path) -> None:
    from tests.checkpoint.harness import experiment

    # 50 samples, batch 4: 13 iterations per epoch, the last batch has 2 samples; save after iteration 13
    spec = {"work_dir": str(tmp_path), "max_epochs": 2, "interval": 13, "val": False, "accumulate": 1}
    runner = te.Runner.from_config(experiment(spec))
    runner.register_hook(_StopAt(14))
    with pytest.raises(_Stop):
        runner.train()
    state = load_checkpoint_file(tmp_path / "iter_13.pth")["run_state"]
    assert isinstance(state, dict) and (state["epoch"], state["inner_iter"]) == (0, 13)
    resumed = te.Runner.from_config(experiment({**spec, "resume": True}))
    resumed.train()
    assert resumed.state.iter == 26


def test_signal_during_a_save_exits_after_it_without_a_second_save(tmp_path: Path) -> None:
    from typedengine.checkpoint.preemption import Preempted

    class TermDuringSave(te.Hook):
        def before_save_checkpoint(self, runner: te.Runner, checkpoint: dict[str, object]) -> None:
            if runner.state.iter == 9:  # the save of iter_10.pth (hooks see MMEngine's running index)
                os.kill(os.getpid(), signal.SIGTERM)

    runner = _runner(tmp_path, CheckpointHook(interval=5, by_epoch=False), epochs=4)
    runner.register_hook(TermDuringSave())
    with pytest.raises(Preempted) as info:
        runner.train()
    assert info.value.code == 75 and info.value.checkpoint == "iter_10.pth"
    assert _names(tmp_path) == ["iter_10.pth", "iter_5.pth"]
    from typedengine.checkpoint.preemption import PreemptionHandler

    leftover = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    assert not isinstance(leftover, PreemptionHandler)  # the handlers were put back
    state = load_checkpoint_file(tmp_path / "iter_10.pth")["run_state"]
    assert isinstance(state, dict) and (state["epoch"], state["iter"], state["inner_iter"]) == (1, 10, 5)


def test_auto_resume_looks_in_the_hooks_out_dir_when_the_pointer_is_gone(tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    work = tmp_path / "work"
    first = _runner(work, CheckpointHook(interval=1, out_dir=out), epochs=2)
    first.train()
    assert _names(out / "work") == ["epoch_1.pth", "epoch_2.pth"] and _names(work) == []
    (work / LAST_CHECKPOINT).unlink()
    resumed = _runner(work, CheckpointHook(interval=1, out_dir=out), epochs=3, resume=True)
    resumed.train()
    assert resumed.state.epoch == 3
    log = (resumed.log_dir / f"{resumed.timestamp}.log").read_text()
    assert f"auto-resume: resuming from {out / 'work' / 'epoch_2.pth'} (epoch 2, iter 10)" in log
    assert (work / LAST_CHECKPOINT).read_text() == "../elsewhere/work/epoch_3.pth\n"
