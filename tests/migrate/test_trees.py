"""Migrating realistic MMEngine config trees (tests/migrate/data/): the written files type-check with the
project's mypy configuration, and ``compute_plan`` on them gives the schedule MMEngine's documented
formulas give (epochs/iterations, validation and checkpoint iterations, the LR of every iteration).
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from typedengine.migrate.command import migrate
from typedengine.runner.plan import RunPlan, compute_plan

DATA = Path(__file__).with_name("data")
ROOT = Path(__file__).resolve().parents[2]
TREES = {
    "classification": DATA / "classification" / "resnet18_8xb16_cifar10_warmup_cos.py",
    "detection": DATA / "detection" / "faster-rcnn_r50_fpn_amp-90k_coco.py",
    "chain": DATA / "chain" / "experiment.py",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("migrated")
    files: dict[str, Path] = {}
    for name, config in TREES.items():
        text, _ = migrate(config)
        files[name] = out / f"migrated_{name}.py"
        files[name].write_text(text)
    return files


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def notes(text: str) -> list[str]:
    """The entries of the comment block at the top, each on one line (the writer wraps them)."""
    entries: list[str] = []
    for line in text.split("from __future__")[0].splitlines():
        if line.startswith("#       ") and entries:
            entries[-1] += " " + line[8:]
        elif line.startswith("#   "):
            entries.append(line[4:])
    return entries


def noted(text: str, fragment: str) -> bool:
    return any(fragment in entry for entry in notes(text))


def plan_of(path: Path) -> RunPlan:
    return compute_plan(load(path).Experiment())


def test_written_files_pass_mypy_strict(generated: dict[str, Path]) -> None:
    """One mypy run over every written file, with the repository's configuration (strict + pydantic plugin)."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary",
         *[str(p) for p in generated.values()]],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_written_files_are_deterministic_and_fit_110_columns(generated: dict[str, Path]) -> None:
    for name, config in TREES.items():
        text = generated[name].read_text()
        assert migrate(config)[0] == text
        too_long = [line for line in text.splitlines() if len(line) > 110]
        assert not too_long, too_long


# --- classification: mmpretrain's layout, 5 warmup epochs stepped per iteration, then cosine per epoch ---------


def test_classification_key_lines(generated: dict[str, Path]) -> None:
    text = generated["classification"].read_text()
    for line in [
        "class ImageClassifierConfig(te.ModelConfig):",
        "class TrainData(te.DatasetConfig):",
        "        return 50000  # CIFAR10 'train' split: 50000 samples",
        "        return 10000  # CIFAR10 'test' split: 10000 samples",
        "    #   dict(type='Accuracy', topk=(1,))",
        "    train_dataloader: te.DataLoaderConfig[TrainData] | None = te.DataLoaderConfig[TrainData](",
        "    test_dataloader: te.DataLoaderConfig[ValData] | None = te.DataLoaderConfig[ValData](",
        '        collate="pseudo",  # MMEngine\'s default collate_fn: pseudo_collate (lists, not stacked)',
        "    train: te.TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=30, val_interval=2)",
        "        optimizer=te.SGDConfig(lr=0.2, momentum=0.9, weight_decay=0.0001, nesterov=True),",
        "        paramwise=te.ParamwiseConfig(bias_decay_mult=0.0, norm_decay_mult=0.0),",
        '        te.LinearSchedulerConfig(param="lr", start_factor=0.01, end=5, convert_to_iter_based=True),',
        '        te.CosineAnnealingSchedulerConfig(param="lr", T_max=25, eta_min=0.0001, begin=5, end=30),',
        '        checkpoint=te.CheckpointHookConfig(interval=5, max_keep_ckpts=3, save_best=("auto",)),',
        "    model_wrapper: te.ModelWrapperConfig = te.DDPConfig(broadcast_buffers=False)",
        '    env: te.EnvConfig = te.EnvConfig(mp_start_method="fork", dist=te.DistConfig(backend="nccl"))',
        "    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=42)",
        "    te.Runner.from_config(te.cli(Experiment, description=__doc__)).train()",
    ]:
        assert line in text, line
    # what has no equivalent is listed at the top with its file and line
    assert noted(
        text, "_base_/default_runtime.py:2  default_scope = 'mmpretrain': typedengine has no registries"
    )
    assert noted(
        text, "_base_/default_runtime.py:22  default_hooks.visualization: dict(type='VisualizationHook'"
    )
    assert noted(text, "_base_/default_runtime.py:31  env_cfg.mp_cfg.opencv_num_threads = 0:")
    assert noted(text, "_base_/default_runtime.py:42  log_level = 'INFO'")  # typedengine's default too
    # the model placeholder carries the original dict, data_preprocessor included (MMEngine hands it over)
    assert "#       head=dict(" in text and "#           mean=[125.307, 122.961, 113.8575]," in text


def test_classification_plan_is_mmengines_schedule(generated: dict[str, Path]) -> None:
    plan = plan_of(generated["classification"])
    per_epoch = math.ceil(50_000 / 128)  # DefaultSampler, drop_last=False
    assert (plan.by_epoch, plan.max_epochs, plan.iters_per_epoch, plan.max_iters) == (True, 30, 391, 30 * 391)
    assert plan.val_epochs == tuple(range(2, 31, 2))  # val_interval=2; the last epoch always validates
    assert plan.val_iters == tuple(e * per_epoch for e in range(2, 31, 2))
    assert plan.checkpoint_epochs == (5, 10, 15, 20, 25, 30)
    assert plan.checkpoint_iters == tuple(e * per_epoch for e in (5, 10, 15, 20, 25, 30))

    base, eta_min, warmup_iters = 0.2, 1e-4, 5 * per_epoch

    def lr(i: int) -> float:
        # MMEngine LinearLR: factor = start + (end - start) * min(step, T) / T with T = end - begin - 1
        if i < warmup_iters:
            return base * (0.01 + 0.99 * min(i, warmup_iters - 1) / (warmup_iters - 1))
        # CosineAnnealingLR per epoch from epoch 5, T_max=25
        t = i // per_epoch - 5
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / 25)) / 2

    curve = plan.lr[""]
    assert len(curve) == 30 * per_epoch
    for i in (0, 1, 977, warmup_iters - 1, warmup_iters, warmup_iters + per_epoch, 7000, len(curve) - 1):
        assert curve[i] == pytest.approx(lr(i), rel=1e-9), i


# --- detection: mmdet's 90k-iteration schedule, linear warmup then milestones, AMP + accumulation ------------------


def test_detection_key_lines(generated: dict[str, Path]) -> None:
    text = generated["detection"].read_text()
    for line in [
        "class FasterRCNNConfig(te.ModelConfig):",
        "        return None  # TODO(migrate): the number of samples, so --plan counts iterations",
        "    train: te.TrainLoopConfig | None = te.IterBasedTrainLoopConfig(",
        "        dynamic_intervals=((80000, 2000),),",
        "    optim_wrapper: te.OptimWrapperUnion | None = te.AmpOptimWrapperConfig(",
        "        scaler=te.GradScalerConfig(init_scale=1024.0, growth_interval=1000),",
        "        clip_grad=te.ClipGradNormConfig(max_norm=35.0),",
        '        te.LinearSchedulerConfig(param="lr", start_factor=0.001, end=500, by_epoch=False),',
        '        te.MultiStepSchedulerConfig(param="lr", milestones=(60000, 80000), end=90000, by_epoch=False),',
        "        checkpoint=te.CheckpointHookConfig(interval=10000, by_epoch=False, max_keep_ckpts=3),",
        "        te.EMAHookConfig(update_buffers=True),",
        "        te.CheckInvalidLossHookConfig(interval_iters=100),",
        "    model_wrapper: te.ModelWrapperConfig = te.DDPConfig(find_unused_parameters=True, broadcast_buffers=False)",
        '    load_from: Path | None = Path("checkpoints/faster_rcnn_r50_fpn_1x_coco.pth")',
        "    log_processor: te.LogProcessorConfig = te.LogProcessorConfig(window_size=50, by_epoch=False)",
        "    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=0, diff_rank_seed=True)",
    ]:
        assert line in text, line
    assert noted(
        text, "custom_hooks[0].priority = 49: typedengine hook configs run at the hook's own priority"
    )
    assert noted(text, "train_dataloader.batch_sampler = dict(type='AspectRatioBatchSampler')")
    assert noted(text, "train_cfg.dynamic_intervals: [(80001, 2000)] -> ((80000, 2000))")
    # the metric's ann_file was computed from data_root + '...'
    assert "#       ann_file='data/coco/annotations/instances_val2017.json'," in text


def test_detection_plan_is_mmengines_schedule(generated: dict[str, Path]) -> None:
    plan = plan_of(generated["detection"])
    assert (plan.by_epoch, plan.max_iters, plan.accumulative_counts, plan.optimizer_steps) == (
        False,
        90_000,
        2,
        45_000,
    )
    # MMEngine's dynamic_intervals=[(80001, 2000)] switches after iteration 80000 (bisect on iter + 1)
    expected_val = [
        i for i in range(1, 90_001) if (i % (2000 if i + 1 >= 80_001 else 10_000) == 0) or i == 90_000
    ]
    assert plan.val_iters == tuple(expected_val)
    assert plan.checkpoint_iters == tuple(range(10_000, 90_001, 10_000))

    def lr(i: int) -> float:
        warm = 0.001 + 0.999 * min(i, 499) / 499 if i < 500 else 1.0
        return 0.02 * warm * 0.1 ** sum(i >= m for m in (60_000, 80_000))

    curve = plan.lr[""]
    for i in (0, 250, 499, 500, 59_999, 60_000, 79_999, 80_000, 89_999):
        assert curve[i] == pytest.approx(lr(i), rel=1e-9), i


# --- a _base_ chain with _delete_, {{_base_.x}}, _base_.x and edits of base values ---------------------------------


def test_chain_key_lines(generated: dict[str, Path]) -> None:
    text = generated["chain"].read_text()
    for line in [
        # _delete_: AdamW replaces SGD (no momentum leaks in); lr = {{_base_.base_lr}} / 100
        "        optimizer=te.AdamWConfig(lr=0.001, betas=(0.9, 0.95)),",
        "        clip_grad=te.ClipGradValueConfig(clip_value=10.0),",
        '                "backbone": te.CustomKeyRule(lr_mult=0.1),',
        '                "head.bias": te.CustomKeyRule(decay_mult=0.0),',
        # the middle file's scheduler list, its second entry's gamma edited through _base_, one appended
        '        te.LinearSchedulerConfig(param="lr", start_factor=0.25, end=2),',
        '        te.StepSchedulerConfig(param="lr", step_size=4, begin=2),',
        '        te.ReduceOnPlateauSchedulerConfig(param="lr", patience=2, begin=12),',
        "        max_epochs=16,",  # _base_.max_epochs + 4
        "        val_begin=3,",
        "        dynamic_intervals=((9, 2),),",
        "        batch_size=40,",  # _base_.train_dataloader.batch_size * 5
        '        checkpoint=te.CheckpointHookConfig(interval=4, save_best=("accuracy",), rule=("greater",)),',
        "        timer=None,",
        '    custom_hooks: te.HookList = (te.EarlyStoppingHookConfig(monitor="accuracy", min_delta=0.01, patience=3),)',
        '    resume: bool | Path = Path("work_dirs/experiment/epoch_4.pth")',
        '    launcher: te.Launcher = "pytorch"',
        "cudnn_benchmark=True,",
        'dist=te.DistConfig(backend="gloo")',  # timeout=600 is typedengine's default (torch's)
        "        return 1000  # indices=1000: the first 1000 samples",
        "        return 200  # 2 x (indices=100: the first 100 samples)",
        'ValEvaluator = te.EvaluatorConfig[Annotated[MyTop1Config | MyLossMetricConfig, Field(discriminator="type")]]',
        '    type: te.Tag[Literal["my-top1"]] = "my-top1"',
    ]:
        assert line in text, line
    assert "momentum" not in text.split("optim_wrapper:")[1].split("param_scheduler:")[0]
    assert noted(
        text,
        "experiment.py:25  train_pipeline = [dict(type='NotUsedAnyMore')]: not a Runner key and nothing uses it",
    )
    assert (
        "max_keep_ckpts" not in text.split("class Experiment")[1]
    )  # the YAML base's checkpoint was _delete_d


def test_chain_plan_is_mmengines_schedule(generated: dict[str, Path]) -> None:
    plan = plan_of(generated["chain"])
    per_epoch = 1000 // 8
    assert (plan.max_epochs, plan.iters_per_epoch) == (16, per_epoch)
    # MMEngine: val_begin=3, interval 1, dynamic_intervals=[(10, 2)]: interval 2 once epoch + 1 >= 10
    expected = [e for e in range(3, 17) if e % (2 if e + 1 >= 10 else 1) == 0 or e == 16]
    assert plan.val_epochs == tuple(expected) == (3, 4, 5, 6, 7, 8, 10, 12, 14, 16)
    assert plan.checkpoint_epochs == (4, 8, 12, 16)

    def lr(epoch: int) -> float:
        warm = 0.25 if epoch == 0 else 1.0  # LinearLR(0.25 -> 1) over epochs [0, 2): T = 1
        steps = (epoch - 2) // 4 if epoch >= 2 else 0  # StepLR(step_size=4, gamma=0.1) from epoch 2
        return 0.001 * warm * 0.1**steps

    curve = plan.lr[""]
    for i in (0, 124, 125, 250, 749, 750, 1250, 1999):
        assert curve[i] == pytest.approx(lr(i // per_epoch), rel=1e-9), i
