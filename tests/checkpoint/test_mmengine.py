"""MMEngine checkpoints: load_from and resume without unpickling code (and without mmengine installed).

The files are built here the way MMEngine's Runner writes them: test-local classes registered under
MMEngine's module and class names (``mmengine.logging.history_buffer.HistoryBuffer``,
``mmengine.config.config.ConfigDict``) are pickled by ``torch.save`` together with numpy arrays and scalars,
then the fake modules are removed again, so the loader must work without them.
"""

from __future__ import annotations

import collections
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import typedengine as te
from tests.conftest import TinyMLP, make_data, state_equal
from typedengine.checkpoint.errors import CheckpointError
from typedengine.checkpoint.io import load_checkpoint_file
from typedengine.checkpoint.mmengine import is_mmengine_file, load_mmengine_checkpoint
from typedengine import LinearSchedulerConfig, MultiStepSchedulerConfig

MMENGINE_VERSION = "0.10.7"


# --------------------------------------------------------------------------------------------------------
# MMEngine look-alikes (same module and class names, pickled as MMEngine's are)
# --------------------------------------------------------------------------------------------------------
class HistoryBuffer:
    """Pickles like ``mmengine.logging.history_buffer.HistoryBuffer`` (attribute dict with numpy arrays)."""

    _statistics_methods: ClassVar[
        dict[str, object]
    ] = {}  # a class attribute, as in MMEngine: not in the state

    def __init__(
        self, log_history: list[float], count_history: list[float], max_length: int = 1000000
    ) -> None:
        self.max_length = max_length
        self._log_history = np.array(log_history, dtype=np.float64)
        self._count_history = np.array(count_history, dtype=np.float64)


class ConfigDict(dict):  # type: ignore[type-arg]
    """Pickles like ``mmengine.config.config.ConfigDict`` (addict's Dict: instance attrs, state = itself)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        object.__setattr__(self, "__parent", None)
        object.__setattr__(self, "__key", None)
        object.__setattr__(self, "__frozen", False)
        super().__init__(*args, **kwargs)

    def __getstate__(self) -> object:
        return self

    def __setstate__(self, state: Mapping[str, object]) -> None:
        self.update(state)


class CustomThing:
    """An object no loader should ever build: its reconstruction records the call."""

    built: ClassVar[list[str]] = []

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_record_build, ("CustomThing",))


def _record_build(name: str) -> object:
    CustomThing.built.append(name)
    return None


_FAKES = {
    "mmengine.logging.history_buffer": {"HistoryBuffer": HistoryBuffer},
    "mmengine.config.config": {"ConfigDict": ConfigDict},
    "mmengine.hooks.custom": {"CustomThing": CustomThing, "_record_build": _record_build},
}


@contextmanager
def fake_mmengine() -> Iterator[None]:
    """Register ``mmengine.*`` modules holding the look-alikes (pickle finds classes by module and name)."""
    names = {"mmengine", "mmengine.logging", "mmengine.config", "mmengine.hooks", *_FAKES}
    assert not any(n in sys.modules for n in names), "a real mmengine is imported; these tests need it absent"
    saved: dict[type | object, tuple[str, str]] = {}
    for module_name in sorted(names):
        module = types.ModuleType(module_name)
        for attr, obj in _FAKES.get(module_name, {}).items():
            setattr(module, attr, obj)
            saved[obj] = (obj.__module__, obj.__qualname__)
            obj.__module__ = module_name  # type: ignore[union-attr]
            obj.__qualname__ = attr  # type: ignore[union-attr]
        sys.modules[module_name] = module
    try:
        yield
    finally:
        for module_name in names:
            del sys.modules[module_name]
        for obj, (module_name, qualname) in saved.items():
            obj.__module__, obj.__qualname__ = module_name, qualname  # type: ignore[union-attr]


def mmengine_save(checkpoint: Mapping[str, object], path: Path) -> Path:
    """``torch.save`` as MMEngine's ``save_checkpoint`` does (default pickle protocol 2)."""
    with fake_mmengine():
        torch.save(dict(checkpoint), path)
    assert "mmengine" not in sys.modules
    return path


# --------------------------------------------------------------------------------------------------------
# a typedengine run and its MMEngine twin
# --------------------------------------------------------------------------------------------------------
def _runner(work_dir: Path, max_epochs: int = 4, **kwargs: object) -> te.Runner:
    data = make_data(n=48)
    return te.Runner(
        model=TinyMLP(),
        work_dir=work_dir,
        train_dataloader=DataLoader(data, batch_size=8),  # 6 iterations per epoch, fixed order
        train=te.EpochBasedTrainLoopConfig(max_epochs=max_epochs),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1, momentum=0.9)),
        param_scheduler=[
            LinearSchedulerConfig(start_factor=0.25, by_epoch=False, begin=0, end=8),
            MultiStepSchedulerConfig(milestones=(2, 3), gamma=0.5),
        ],
        randomness=te.RandomnessConfig(seed=3),
        **kwargs,  # type: ignore[arg-type]
    )


class LRRecorder(te.Hook):
    """Records (iter, lr) at every training iteration."""

    def __init__(self) -> None:
        self.lrs: list[tuple[int, float]] = []

    def before_train_iter(self, runner: te.Runner, batch_idx: int, data_batch: object = None) -> None:
        assert runner.optim_wrapper is not None
        self.lrs.append((runner.state.iter, runner.optim_wrapper.get_lr()["lr"][0]))


def _mmengine_twin(
    ckpt: Mapping[str, object], *, extra_info: Mapping[str, object] | None = None
) -> dict[str, object]:
    """What MMEngine's Runner writes at the same point, built from a typedengine checkpoint's contents."""
    meta = ckpt["meta"]
    assert isinstance(meta, dict)
    hub = ckpt["message_hub"]
    from typedengine.checkpoint.contents import unpack_message_hub

    assert isinstance(hub, dict)
    scalars = unpack_message_hub(hub)["scalars"]
    assert isinstance(scalars, dict)
    log_scalars = collections.OrderedDict(
        (key, HistoryBuffer(list(h["values"]), [float(c) for c in h["counts"]])) for key, h in scalars.items()
    )
    schedulers = []
    mm_extras = [
        {"start_factor": 0.25, "end_factor": 1.0, "begin": 0, "end": 8, "by_epoch": False},
        {"milestones": collections.Counter([2, 3]), "gamma": 0.5, "begin": 0, "end": 4, "by_epoch": True},
    ]
    param_schedulers = ckpt["param_schedulers"]
    assert isinstance(param_schedulers, list)
    for state, extras in zip(param_schedulers, mm_extras):
        # MMEngine's state_dict() is the scheduler's __dict__ minus the optimizer
        schedulers.append({**extras, "verbose": False, "param_name": "lr", **state})
    runtime_info = {
        "cfg": "model = dict(type='TinyMLP')\ntrain_cfg = dict(by_epoch=True, max_epochs=4)\n",
        "seed": 3,
        "experiment_name": "tiny_20260101_000000",
        "mmengine_version": MMENGINE_VERSION,
        "loop_stage": "train",
        "epoch": int(meta["epoch"]) - 1,
        "iter": int(meta["iter"]) - 1,
        "max_epochs": 4,
        "max_iters": 24,
        "eta": np.float64(1.25),
        "dataset_meta": ConfigDict(classes=("a", "b", "c", "d"), palette=np.array([[0, 0, 0], [255, 0, 0]])),
        **(extra_info or {}),
    }
    return {
        "meta": {
            "epoch": meta["epoch"],
            "iter": meta["iter"],
            "cfg": runtime_info["cfg"],
            "seed": 3,
            "experiment_name": "tiny_20260101_000000",
            "time": "20260101_000012",
            "mmengine_version": MMENGINE_VERSION,
            "dataset_meta": ConfigDict(classes=("a", "b", "c", "d")),
        },
        "state_dict": ckpt["state_dict"],
        "message_hub": {
            "log_scalars": log_scalars,
            "runtime_info": runtime_info,
            "resumed_keys": {k: True for k in [*log_scalars, *runtime_info]},
        },
        "optimizer": ckpt["optimizer"],
        "param_schedulers": schedulers,
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An uninterrupted 4-epoch run: its LR per iteration, final weights and its epoch-2 checkpoint."""
    work = tmp_path_factory.mktemp("reference")
    rec = LRRecorder()
    runner = _runner(work, custom_hooks=[rec])
    runner.train()
    runner.close()
    epoch2 = load_checkpoint_file(work / "epoch_2.pth")
    return {"lrs": rec.lrs, "weights": runner.unwrapped_model.state_dict(), "epoch2": epoch2}


@pytest.fixture
def mmengine_epoch2(reference: dict[str, object], tmp_path: Path) -> Path:
    ckpt = reference["epoch2"]
    assert isinstance(ckpt, dict)
    return mmengine_save(_mmengine_twin(ckpt), _save_dir(tmp_path / "mm" / "epoch_2.pth"))


# --------------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------------
def _save_dir(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_the_file_really_needs_the_stand_ins(mmengine_epoch2: Path) -> None:
    import pickle

    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL (mmengine|numpy)"):
        torch.load(mmengine_epoch2, weights_only=True)
    assert "mmengine" not in sys.modules
    assert is_mmengine_file(mmengine_epoch2)


def test_conversion_to_typedengine_layout(mmengine_epoch2: Path, reference: dict[str, object]) -> None:
    ckpt = load_mmengine_checkpoint(mmengine_epoch2)
    assert ckpt is not None and "mmengine" not in sys.modules
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    meta = ckpt["meta"]
    assert isinstance(meta, dict)
    assert (meta["format"], meta["mmengine_version"], meta["epoch"], meta["iter"]) == (
        "mmengine",
        "0.10.7",
        2,
        12,
    )
    assert meta["dataset_meta"] == {"classes": ("a", "b", "c", "d")}  # a ConfigDict, now a plain dict
    run_state = ckpt["run_state"]
    assert isinstance(run_state, dict)
    assert (run_state["epoch"], run_state["iter"], run_state["inner_iter"]) == (2, 12, 0)
    assert state_equal(ckpt["state_dict"], epoch2["state_dict"])  # type: ignore[arg-type]
    schedulers = ckpt["param_schedulers"]
    assert isinstance(schedulers, list) and len(schedulers) == 2
    assert schedulers[1]["milestones"] == {2: 1, 3: 1}  # a Counter in MMEngine's dict
    for got, want in zip(schedulers, epoch2["param_schedulers"]):
        for key in ("_global_step", "last_step", "base_values", "_last_value"):
            assert got[key] == want[key]
    hub = ckpt["message_hub"]
    assert isinstance(hub, dict)
    loss = hub["scalars"]["train/loss"]
    assert isinstance(loss["values"], list) and len(loss["values"]) == 12
    assert loss["total_count"] == 12 and loss["counts"] == [1] * 12
    assert loss["total"] == pytest.approx(sum(loss["values"]))


def test_load_from_takes_the_weights(
    mmengine_epoch2: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    runner = _runner(tmp_path / "fine", load_from=mmengine_epoch2)
    runner.load_or_resume()
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    assert state_equal(runner.unwrapped_model.state_dict(), epoch2["state_dict"])  # type: ignore[arg-type]
    assert runner.state.epoch == 0 and runner.state.iter == 0  # weights only
    runner.close()


def test_load_from_with_revise_keys_and_strict_reporting(
    reference: dict[str, object], tmp_path: Path
) -> None:
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    twin = _mmengine_twin(epoch2)
    weights = twin["state_dict"]
    assert isinstance(weights, dict)
    twin["state_dict"] = {f"backbone.{k}": v for k, v in weights.items()} | {"head.extra": torch.zeros(2)}
    path = mmengine_save(twin, _save_dir(tmp_path / "mm" / "prefixed.pth"))
    runner = _runner(tmp_path / "fine")
    runner.load_checkpoint(path, revise_keys=[(r"^backbone\.", "")])
    assert state_equal(runner.unwrapped_model.state_dict(), weights)
    from typedengine.checkpoint.errors import WeightsMismatchError

    with pytest.raises(WeightsMismatchError, match="head.extra"):
        runner.load_checkpoint(path, strict=True, revise_keys=[(r"^backbone\.", "")])
    runner.close()


def test_resume_continues_counters_optimizer_schedulers_and_lr(
    mmengine_epoch2: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    rec = LRRecorder()
    runner = _runner(tmp_path / "resumed", resume=mmengine_epoch2, custom_hooks=[rec])
    runner.train()
    runner.close()
    assert (runner.state.epoch, runner.state.iter) == (4, 24)
    lrs = reference["lrs"]
    assert isinstance(lrs, list)
    assert rec.lrs == lrs[12:]  # iterations 12..23 with the LR of the uninterrupted run
    # nothing random after the resume point (fixed data order, no dropout): the same final weights
    assert state_equal(runner.unwrapped_model.state_dict(), reference["weights"])  # type: ignore[arg-type]
    # the smoothing history continued: the resumed run's hub starts with MMEngine's 12 losses
    assert len(runner.message_hub.get_scalar("train/loss").values()) == 24


def test_resume_true_in_an_mmengine_work_dir(mmengine_epoch2: Path, reference: dict[str, object]) -> None:
    work_dir = mmengine_epoch2.parent
    # MMEngine's pointer: an absolute path; its keep_ckpt_ids/last_ckpt in the hub
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    info = {
        "keep_ckpt_ids": [1, 2],
        "last_ckpt": str(mmengine_epoch2),
        "best_score": np.float64(75.0),
        "best_ckpt": str(work_dir / "best_accuracy_epoch_2.pth"),
    }
    mmengine_save(_mmengine_twin(epoch2, extra_info=info), mmengine_epoch2)
    (work_dir / "last_checkpoint").write_text(str(mmengine_epoch2.absolute()))
    runner = _runner(work_dir, resume=True, max_epochs=3)
    runner.train()
    runner.close()
    assert (runner.state.epoch, runner.state.iter) == (3, 18)
    assert runner.state.best_scores == {"accuracy": 75.0}
    assert runner.state.best_checkpoints == {"accuracy": "best_accuracy_epoch_2.pth"}
    assert runner.state.kept_checkpoints == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    log = next(runner.log_dir.glob("*.log")).read_text()
    warnings = [line for line in log.splitlines() if " - WARNING - " in line]
    carried = [w for w in warnings if "MMEngine 0.10.7 checkpoint; not carried over" in w]
    assert len(carried) == 1
    text = log[log.index("not carried over:") :]
    assert (
        "random number generator states" in text and "the config (MMEngine stores it as Python text)" in text
    )
    assert "Auto resumed from the latest checkpoint" in log


def test_resume_true_in_an_mmengine_work_dir_with_a_broken_pointer(
    mmengine_epoch2: Path, reference: dict[str, object]
) -> None:
    """The pointer names a file that is gone: the survey reads MMEngine files through the converter too."""
    work_dir = mmengine_epoch2.parent
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    mmengine_save(_mmengine_twin(epoch2), mmengine_epoch2)
    (work_dir / "last_checkpoint").write_text(str(work_dir / "epoch_3.pth"))  # never written
    runner = _runner(work_dir, resume=True, max_epochs=3)
    runner.train()
    runner.close()
    assert (runner.state.epoch, runner.state.iter) == (3, 18)
    log = next(runner.log_dir.glob("*.log")).read_text()
    assert f"auto-resume: resuming from {mmengine_epoch2} (epoch 2, iter 12)" in log
    assert "starting from scratch" not in log


def test_mid_epoch_checkpoints_say_the_epoch_restarts(reference: dict[str, object], tmp_path: Path) -> None:
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    twin = _mmengine_twin(epoch2)
    meta = twin["meta"]
    assert isinstance(meta, dict)
    meta["epoch"], meta["iter"] = 2, 15  # an iteration-cadence save in epoch 3 (3 of its 6 batches done)
    ckpt = load_mmengine_checkpoint(mmengine_save(twin, _save_dir(tmp_path / "mm" / "iter_15.pth")))
    assert ckpt is not None
    notes = ckpt["meta"]["not_carried_over"]  # type: ignore[index]
    assert any("position inside epoch 3 (saved after iteration 3 of 6" in n for n in notes)


def test_unknown_globals_are_refused_by_name_and_never_built(
    reference: dict[str, object], tmp_path: Path
) -> None:
    epoch2 = reference["epoch2"]
    assert isinstance(epoch2, dict)
    twin = _mmengine_twin(epoch2)
    twin["custom_hook_state"] = CustomThing()
    path = mmengine_save(twin, _save_dir(tmp_path / "mm" / "custom.pth"))
    CustomThing.built.clear()
    with pytest.raises(CheckpointError) as info:
        load_mmengine_checkpoint(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "mmengine.hooks.custom._record_build" in message
    assert "\x1b[" not in message  # no terminal colour codes
    assert CustomThing.built == []
    runner = _runner(tmp_path / "fine", load_from=path)
    with pytest.raises(CheckpointError, match="_record_build"):
        runner.load_or_resume()
    runner.close()
    assert CustomThing.built == []


def test_ema_and_optimizer_dict_layouts_are_converted(tmp_path: Path) -> None:
    weights = {"net.0.weight": torch.ones(2, 2), "net.0.bias": torch.zeros(2)}
    raw = {
        "meta": {"epoch": 1, "iter": 5, "mmengine_version": MMENGINE_VERSION},
        "state_dict": weights,
        "ema_state_dict": {
            "steps": torch.tensor(5),
            "module.net.0.weight": torch.full((2, 2), 3.0),
            "module.net.0.bias": torch.ones(2),
        },
        "param_schedulers": {
            "generator": [{"_global_step": 5, "last_step": 5}],
            "discriminator": [{"last_step": 1}],
        },
        "message_hub": {"log_scalars": {}, "runtime_info": {}, "resumed_keys": {}},
    }
    ckpt = load_mmengine_checkpoint(mmengine_save(raw, tmp_path / "gan.pth"))
    assert ckpt is not None
    assert ckpt["ema_steps"] == 5
    ema = ckpt["ema_state_dict"]
    assert isinstance(ema, dict) and set(ema) == {"net.0.weight", "net.0.bias"}
    assert torch.equal(ema["net.0.weight"], torch.full((2, 2), 3.0))
    assert ckpt["param_schedulers"] == [{"_global_step": 5, "last_step": 5}, {"last_step": 1}]


def test_plain_state_dicts_and_typedengine_files_take_their_own_path(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pth"
    torch.save({"net.0.weight": torch.ones(1)}, plain)
    assert not is_mmengine_file(plain) and load_mmengine_checkpoint(plain) is None
    assert set(load_checkpoint_file(plain, require_checksum=False)) == {"net.0.weight"}
    with pytest.raises(CheckpointError, match="incomplete checkpoint"):
        load_checkpoint_file(plain, require_checksum=True)  # resume still refuses foreign non-MMEngine files


def test_old_torch_is_refused_clearly(mmengine_epoch2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "__version__", "2.5.1")
    with pytest.raises(CheckpointError, match=r"needs torch >= 2\.6.*this is torch 2\.5\.1"):
        load_mmengine_checkpoint(mmengine_epoch2)


def test_safe_globals_are_left_as_they_were(mmengine_epoch2: Path) -> None:
    before = set(torch.serialization.get_safe_globals())
    assert load_mmengine_checkpoint(mmengine_epoch2) is not None
    assert (
        set(torch.serialization.get_safe_globals()) == before
    )  # the stand-ins were allowed for the load only
    with torch.serialization.safe_globals([np.ndarray]):  # a user's own entry survives our load
        assert load_mmengine_checkpoint(mmengine_epoch2) is not None
        assert np.ndarray in torch.serialization.get_safe_globals()


def test_numpy_1_names_load_too(tmp_path: Path) -> None:
    """Files written under numpy 1 name numpy.core.multiarray (numpy 2 writes numpy._core.multiarray)."""
    import io
    import zipfile

    raw = {
        "meta": {"epoch": 1, "iter": 3, "mmengine_version": MMENGINE_VERSION},
        "state_dict": {"w": torch.ones(2)},
        "message_hub": {
            "log_scalars": {"train/loss": HistoryBuffer([0.5, 0.25, 0.75], [1, 1, 1])},
            "runtime_info": {},
        },
    }
    written = mmengine_save(raw, tmp_path / "np2.pth").read_bytes()
    source, rebuilt = zipfile.ZipFile(io.BytesIO(written)), io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/data.pkl"):
                assert b"cnumpy._core.multiarray\n" in data
                data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
            archive.writestr(info.filename, data)
    path = tmp_path / "np1.pth"
    path.write_bytes(rebuilt.getvalue())
    assert "numpy.core.multiarray._reconstruct" in torch.serialization.get_unsafe_globals_in_checkpoint(
        str(path)
    )
    ckpt = load_mmengine_checkpoint(path)
    assert ckpt is not None
    hub = ckpt["message_hub"]
    assert isinstance(hub, dict) and hub["scalars"]["train/loss"]["values"] == [0.5, 0.25, 0.75]


def test_resume_with_ema_continues_the_average(tmp_path: Path) -> None:
    from typedengine.hooks.ema import EMAHookConfig

    def ema_runner(work: Path, **kwargs: object) -> te.Runner:
        return _runner(work, custom_hooks=[EMAHookConfig(momentum=0.1).build()], **kwargs)

    full = ema_runner(tmp_path / "full")
    full.train()
    full.close()
    epoch2 = load_checkpoint_file(tmp_path / "full" / "epoch_2.pth")
    twin = _mmengine_twin(epoch2)
    raw, steps = epoch2["ema_state_dict"], epoch2["ema_steps"]
    assert isinstance(raw, dict) and isinstance(steps, int)
    # MMEngine's EMAHook: the averaged module's state dict ("module." keys; raw weights after its swap), steps
    twin["ema_state_dict"] = {"steps": torch.tensor(steps), **{f"module.{k}": v for k, v in raw.items()}}
    path = mmengine_save(twin, _save_dir(tmp_path / "mm" / "epoch_2.pth"))
    resumed = ema_runner(tmp_path / "resumed", resume=path)
    resumed.train()
    resumed.close()
    final = load_checkpoint_file(tmp_path / "full" / "epoch_4.pth")
    again = load_checkpoint_file(tmp_path / "resumed" / "epoch_4.pth")
    assert state_equal(again["state_dict"], final["state_dict"])  # type: ignore[arg-type]  # the EMA weights
    assert state_equal(again["ema_state_dict"], final["ema_state_dict"])  # type: ignore[arg-type]  # raw ones
    assert again["ema_steps"] == final["ema_steps"]
