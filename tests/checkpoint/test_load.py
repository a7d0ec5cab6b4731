"""load_from: key revision, strict/non-strict reports, and reading weight files of every kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from typedengine.checkpoint.errors import CheckpointError, WeightsMismatchError
from typedengine.checkpoint.io import save_checkpoint_file
from typedengine.checkpoint.load import load_weights, read_weights, rename_keys


def _net(hidden: int = 8) -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, 2))


def _ddp_style(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict a DDP/DataParallel-wrapped model saves: every key prefixed with 'module.'."""
    return {f"module.{k}": v.clone() for k, v in model.state_dict().items()}


def test_module_prefixed_weights_load_after_revise_keys() -> None:
    torch.manual_seed(0)
    source = _net()
    target = _net()
    report = load_weights(target, _ddp_style(source), strict=True)
    assert report.exact and report.loaded == len(source.state_dict())
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v), k


def test_without_revision_the_prefixed_keys_do_not_match() -> None:
    source, target = _net(), _net()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(target, _ddp_style(source), strict=True, revise_keys=())
    err = info.value
    assert set(err.missing_keys) == set(source.state_dict()) - {"1.num_batches_tracked"}
    assert set(err.unexpected_keys) == {f"module.{k}" for k in source.state_dict()}
    assert (
        "missing keys (8)" in str(err) and "unexpected keys (9)" in str(err) and "module.0.weight" in str(err)
    )
    # strict failure loads nothing
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_strict_mismatch_lists_every_key_and_shape() -> None:
    source = _net(hidden=8)
    state = dict(source.state_dict())
    state.pop("2.bias")
    state["extra.weight"] = torch.zeros(1)
    target = _net(hidden=8)
    target[0] = nn.Linear(4, 8, bias=True)
    state["0.weight"] = torch.zeros(8, 5)
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(target, state, strict=True)
    assert info.value.missing_keys == ("2.bias",)
    assert info.value.unexpected_keys == ("extra.weight",)
    assert info.value.shape_mismatches == (("0.weight", (8, 5), (8, 4)),)
    text = str(info.value)
    assert "missing keys (1): 2.bias" in text
    assert "unexpected keys (1): extra.weight" in text
    assert "shape mismatch for 0.weight: checkpoint [8, 5], model [8, 4]" in text


def test_non_strict_loads_what_matches_and_reports_the_rest() -> None:
    torch.manual_seed(1)
    source = _net(hidden=8)
    target = _net(hidden=6)  # every hidden-size tensor mismatches; the last bias (2,) matches
    untouched = target.state_dict()["0.weight"].clone()
    report = load_weights(target, {**source.state_dict(), "head.x": torch.ones(1)}, strict=False)
    assert torch.equal(target.state_dict()["2.bias"], source.state_dict()["2.bias"])
    assert torch.equal(target.state_dict()["0.weight"], untouched)
    assert report.unexpected_keys == ("head.x",)
    assert {k for k, _, _ in report.shape_mismatches} == {
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "2.weight",
    }  # fmt: skip
    assert not report.exact
    assert "shape mismatch for 0.weight (skipped): checkpoint [8, 4], model [6, 4]" in str(report)


def test_num_batches_tracked_missing_is_not_reported_and_metadata_is_kept() -> None:
    source = _net()
    state = _ddp_style(source)
    state.pop("module.1.num_batches_tracked")
    report = load_weights(_net(), state, strict=True)
    assert report.exact
    # torch's per-module version metadata survives the rename (BatchNorm reads it)
    original = source.state_dict()
    renamed = dict(state)
    renamed_meta = {("module." + k if k else "module"): v for k, v in original._metadata.items()}  # type: ignore[attr-defined]
    holder = type(original)(renamed)
    holder._metadata = renamed_meta  # type: ignore[attr-defined]
    seen: dict[str, object] = {}

    class Spy(nn.BatchNorm1d):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen[prefix] = local_metadata
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    target = _net()
    target[1] = Spy(8)
    load_weights(target, holder, strict=False)
    assert seen["1."] == original._metadata["1"]  # type: ignore[attr-defined]


def test_rename_keys_applies_rules_in_order_and_rejects_collisions() -> None:
    state = {"backbone.conv.w": 1, "head.fc.w": 2}
    assert rename_keys(state, [(r"^backbone\.", ""), (r"^conv", "stem")]) == {"stem.w": 1, "head.fc.w": 2}
    with pytest.raises(ValueError, match="two checkpoint keys"):
        rename_keys({"a.x": 1, "b.x": 2}, [(r"^[ab]\.", "")])


def test_load_weights_unwraps_a_ddp_like_module_attribute_only_for_ddp() -> None:
    class Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = _net()

    holder = Holder()
    # a plain module with a child called "module" keeps its own key names
    report = load_weights(holder, holder.state_dict(), strict=True, revise_keys=())
    assert report.exact


def test_read_weights_from_every_kind_of_file(tmp_path: Path) -> None:
    source = _net()
    expected = source.state_dict()
    save_checkpoint_file({"state_dict": expected, "meta": {"epoch": 1}}, tmp_path / "ours.pth")
    torch.save(expected, tmp_path / "plain.pth")
    torch.save({"state_dict": expected, "meta": {"epoch": 1}}, tmp_path / "mmengine_like.pth")
    from safetensors.torch import save_file

    save_file(dict(expected), str(tmp_path / "w.safetensors"))
    for name in ("ours.pth", "plain.pth", "mmengine_like.pth", "w.safetensors"):
        got = read_weights(tmp_path / name)
        assert got.keys() == expected.keys(), name
        assert all(torch.equal(got[k], expected[k]) for k in expected), name
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError) as info:
        read_weights(tmp_path / "bad.safetensors")
    assert str(info.value).startswith(str(tmp_path / "bad.safetensors"))
