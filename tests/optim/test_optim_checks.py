"""check_param_schedulers / check_optim_wrapper: every problem found, each naming its path."""

from __future__ import annotations

from typedengine.optim.amp import AmpOptimWrapperConfig
from typedengine.optim.checks import check_optim_wrapper, check_param_schedulers
from typedengine.optim.schedulers.cosine import CosineAnnealingSchedulerConfig, CosineRestartSchedulerConfig
from typedengine.optim.schedulers.linear import LinearSchedulerConfig
from typedengine.optim.schedulers.plateau import ReduceOnPlateauSchedulerConfig
from typedengine.optim.schedulers.step import MultiStepSchedulerConfig, StepSchedulerConfig
from typedengine.optim.wrapper import OptimWrapperConfig
from typedengine.optim.wrapper_dict import OptimWrapperDictConfig


def _check(cfgs: list, **kw: object) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    args: dict[str, object] = {
        "by_epoch_run": True,
        "max_epochs": 12,
        "max_iters": None,
        "epoch_length": 100,
        "metric_keys": frozenset({"accuracy/top1"}),
    }
    args.update(kw)
    return [(i.path, i.message) for i in check_param_schedulers(cfgs, **args)]  # type: ignore[arg-type]


def test_a_sound_schedule_has_no_issues() -> None:
    cfgs = [
        LinearSchedulerConfig(start_factor=0.001, by_epoch=False, end=500),
        MultiStepSchedulerConfig(milestones=(8, 11)),
        CosineAnnealingSchedulerConfig(begin=1, convert_to_iter_based=True),
        ReduceOnPlateauSchedulerConfig(monitor="accuracy/top1", rule="greater"),
    ]
    assert _check(cfgs) == []


def test_every_problem_is_reported_with_its_path() -> None:
    cfgs = [
        CosineAnnealingSchedulerConfig(begin=12),  # window starts at the end of the run
        MultiStepSchedulerConfig(milestones=(8, 13)),  # 13 is beyond 12 epochs
        LinearSchedulerConfig(start_factor=0.1, by_epoch=False, end=2000),  # warmup 2000 iters > 1200
        ReduceOnPlateauSchedulerConfig(monitor="val_loss"),  # nobody produces it
        StepSchedulerConfig(step_size=20),  # never decays
        CosineRestartSchedulerConfig(periods=(10, 10), restart_weights=(1.0, 1.0), eta_min=0.0),
    ]
    paths = [p for p, _ in _check(cfgs)]
    assert paths == [
        "param_scheduler[0].begin",
        "param_scheduler[1].milestones[1]",
        "param_scheduler[2].end",
        "param_scheduler[3].monitor",
        "param_scheduler[4].step_size",
        "param_scheduler[5].periods",
    ]
    messages = dict(_check(cfgs))
    assert "never acts" in messages["param_scheduler[0].begin"]
    assert "accuracy/top1" in messages["param_scheduler[3].monitor"]


def test_milestones_beyond_their_window() -> None:
    assert [p for p, _ in _check([MultiStepSchedulerConfig(milestones=(3,), begin=2, end=4)])] == [
        "param_scheduler[0].milestones[0]"
    ]


def test_iteration_based_run() -> None:
    cfgs = [
        MultiStepSchedulerConfig(milestones=(2,)),  # by_epoch in an iteration run, no conversion
        MultiStepSchedulerConfig(milestones=(2,), convert_to_iter_based=True),  # fine
        LinearSchedulerConfig(by_epoch=False, end=100),  # fine
        ReduceOnPlateauSchedulerConfig(monitor="accuracy/top1"),  # fed by validation: fine
    ]
    issues = _check(cfgs, by_epoch_run=False, max_epochs=None, max_iters=1000, epoch_length=100, path="sched")
    assert [p for p, _ in issues] == ["sched[0].by_epoch"]


def test_unknown_lengths_and_metrics_skip_those_checks() -> None:
    cfgs = [MultiStepSchedulerConfig(milestones=(99,)), ReduceOnPlateauSchedulerConfig(monitor="anything")]
    assert _check(cfgs, max_epochs=None, max_iters=None, epoch_length=None, metric_keys=None) == []


def test_amp_fp16_on_cpu_inside_a_dict() -> None:
    cfg = OptimWrapperDictConfig(
        wrappers={"generator": OptimWrapperConfig(), "discriminator": AmpOptimWrapperConfig(dtype="float16")}
    )
    issues = check_optim_wrapper(cfg, device_type="cpu", path="ow")
    assert [i.path for i in issues] == ["ow.wrappers.discriminator.dtype"]
