"""Resume compatibility: each config difference is classified safe / apply / refuse and rendered."""

from __future__ import annotations

import pytest

from typedengine.checkpoint.compat import CompatRule, check_resume_compat, diff_configs
from typedengine.checkpoint.errors import IncompatibleResumeError

BASE: dict[str, object] = {
    "model": {"width": 32, "depth": 2},
    "work_dir": "work_dirs/a",
    "train_dataloader": {
        "dataset": {"root": "data", "split": "train"},
        "batch_size": 64,
        "num_workers": 2,
        "shuffle": True,
    },
    "train": {"type": "epoch-based", "max_epochs": 10, "val_interval": 1},
    "optim_wrapper": {
        "type": "default",
        "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        "accumulative_counts": 1,
        "clip_grad": None,
    },
    "param_scheduler": [{"type": "cosine", "T_max": 10}],
    "default_hooks": {"checkpoint": {"type": "checkpoint", "interval": 1}, "logger": {"interval": 10}},
    "randomness": {"seed": 0, "deterministic": False},
    "resume": False,
}


def _with(path: str, value: object) -> dict[str, object]:
    import copy

    out = copy.deepcopy(BASE)
    node: dict[str, object] = out
    *parents, leaf = path.split(".")
    for p in parents:
        child = node[p]
        assert isinstance(child, dict)
        node = child
    node[leaf] = value
    return out


def _level(path: str, value: object) -> str:
    diffs = diff_configs(BASE, _with(path, value))
    assert len(diffs) == 1, diffs
    assert diffs[0].path == path or diffs[0].path.startswith(path + "[")
    return diffs[0].level


@pytest.mark.parametrize(
    ("path", "value", "level"),
    [
        ("train.max_epochs", 20, "apply"),  # the cosine has no end: it ends with the run
        ("train.max_epochs", 5, "apply"),
        ("train.val_interval", 2, "safe"),
        ("default_hooks.checkpoint.interval", 5, "safe"),
        ("default_hooks.logger.interval", 50, "safe"),
        ("work_dir", "elsewhere", "safe"),
        ("resume", True, "safe"),
        ("train_dataloader.num_workers", 8, "safe"),
        ("optim_wrapper.optimizer.lr", 0.01, "apply"),
        ("optim_wrapper.optimizer.momentum", 0.95, "apply"),
        ("optim_wrapper.optimizer.amsgrad", True, "refuse"),
        ("optim_wrapper.clip_grad", {"max_norm": 1.0}, "apply"),
        ("param_scheduler", [{"type": "cosine", "T_max": 20}], "apply"),
        ("randomness.deterministic", True, "apply"),
        ("data_preprocessor", {"mean": [0.5]}, "refuse"),
        ("model.width", 64, "refuse"),
        ("train_dataloader.batch_size", 32, "refuse"),
        ("train_dataloader.dataset.split", "trainval", "refuse"),
        ("train_dataloader.shuffle", False, "refuse"),
        ("randomness.seed", 1, "refuse"),
        ("optim_wrapper.accumulative_counts", 4, "refuse"),
        ("something_new", 1, "refuse"),  # no rule knows it: refused, --resume-force overrides
    ],
)
def test_classification(path: str, value: object, level: str) -> None:
    assert _level(path, value) == level


def test_run_length_is_safe_when_no_schedule_ends_with_the_run() -> None:
    fixed = _with("param_scheduler", [{"type": "cosine", "T_max": 10, "end": 10}])
    longer = _with("param_scheduler", [{"type": "cosine", "T_max": 10, "end": 10}])
    longer["train"] = {"type": "epoch-based", "max_epochs": 20, "val_interval": 1}
    assert [(d.path, d.level) for d in diff_configs(fixed, longer)] == [("train.max_epochs", "safe")]


def test_an_amp_switch_applies_and_still_compares_the_shared_fields() -> None:
    wrapper = {**BASE["optim_wrapper"], "type": "amp", "dtype": "bfloat16"}  # type: ignore[dict-item]
    amp = _with("optim_wrapper", wrapper)
    amp["optim_wrapper"]["optimizer"] = {"type": "sgd", "lr": 0.2, "momentum": 0.9}  # type: ignore[index]
    diffs = diff_configs(BASE, amp)
    assert [(d.path, d.level) for d in diffs] == [
        ("optim_wrapper.optimizer.lr", "apply"),
        ("optim_wrapper.type", "apply"),
    ]
    assert [
        d.path
        for d in check_resume_compat(BASE, amp, world_size_old=1, world_size_new=1, force=False).replays
    ] == ["optim_wrapper.optimizer.lr"]
    several = _with("optim_wrapper", {"type": "dict", "wrappers": {}})
    assert [(d.path, d.level) for d in diff_configs(BASE, several)] == [("optim_wrapper", "refuse")]


def test_union_member_swap_is_one_difference() -> None:
    new = _with("optim_wrapper.optimizer", {"type": "adamw", "lr": 0.001, "betas": [0.9, 0.999]})
    diffs = diff_configs(BASE, new)
    assert [(d.path, d.level) for d in diffs] == [("optim_wrapper.optimizer", "refuse")]
    loop = _with("train", {"type": "iter-based", "max_iters": 1000, "val_interval": 100})
    assert [(d.path, d.level) for d in diff_configs(BASE, loop)] == [("train", "refuse")]


def test_unchanged_config_has_no_differences_and_tuples_equal_lists() -> None:
    same = _with("param_scheduler", ({"type": "cosine", "T_max": 10},))
    report = check_resume_compat(BASE, same, world_size_old=2, world_size_new=2, force=False)
    assert report.differences == () and report.allowed
    assert report.render() == "config unchanged since the checkpoint"


def test_world_size_change_is_refused_and_force_overrides() -> None:
    report = check_resume_compat(BASE, BASE, world_size_old=4, world_size_new=2, force=False)
    assert [d.path for d in report.refused] == ["<world size>"]
    assert not report.allowed
    with pytest.raises(IncompatibleResumeError, match="world size"):
        report.raise_if_refused()
    forced = check_resume_compat(BASE, BASE, world_size_old=4, world_size_new=2, force=True)
    assert forced.allowed
    forced.raise_if_refused()
    assert "REFUSE (forced)" in forced.render(rich=False)


def test_report_orders_by_severity_and_renders_a_table() -> None:
    new = _with("model.width", 64)
    new["train"] = {"type": "epoch-based", "max_epochs": 20, "val_interval": 1}
    new["optim_wrapper"]["optimizer"]["lr"] = 0.01  # type: ignore[index]
    report = check_resume_compat(BASE, new, world_size_old=1, world_size_new=1, force=False)
    assert [(d.level, d.path) for d in report.differences] == [
        ("refuse", "model.width"),
        ("apply", "optim_wrapper.optimizer.lr"),
        ("apply", "train.max_epochs"),
    ]
    plain = report.render(rich=False).splitlines()
    assert plain[0].split() == ["level", "path", "checkpoint", "now", "why"]
    assert plain[2].split()[:4] == ["REFUSE", "model.width", "32", "64"]
    assert plain[4].split()[:4] == ["APPLY", "train.max_epochs", "10", "20"]
    rich = report.render(rich=True, width=120)
    assert "Resume: config changes since the checkpoint" in rich
    for token in ("model.width", "optim_wrapper.optimizer.lr", "0.01", "train.max_epochs", "REFUSE"):
        assert token in rich
    with pytest.raises(IncompatibleResumeError) as info:
        report.raise_if_refused()
    assert "--resume-force" in str(info.value) and "model.width" in str(info.value)


def test_missing_configs_only_compare_world_size() -> None:
    report = check_resume_compat(None, BASE, world_size_old=1, world_size_new=1, force=False)
    assert report.allowed and report.differences == ()
    assert report.notes == (
        "no config to compare (the checkpoint holds none); only the world size was checked",
    )
    assert "note:" in report.render(rich=False)


def test_custom_rules_take_precedence() -> None:
    rules = (CompatRule("model.width", "safe", "the width is cosmetic here"),)
    diffs = diff_configs(BASE, _with("model.width", 64), rules=rules)
    assert diffs[0].level == "safe" and diffs[0].reason == "the width is cosmetic here"
    # list elements are matched with [*]
    hooks = {"custom_hooks": [{"type": "ema", "momentum": 0.1}]}
    moved = {"custom_hooks": [{"type": "ema", "momentum": 0.2}]}
    diffs = diff_configs(hooks, moved, rules=(CompatRule("custom_hooks[*].momentum", "refuse", "x"),))
    assert [(d.path, d.level) for d in diffs] == [("custom_hooks[0].momentum", "refuse")]
