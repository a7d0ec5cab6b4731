"""Published weights: selected keys only, safetensors or weights_only .pth, sha256 prefix in the name."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from typedengine.checkpoint.export import export_checkpoint
from typedengine.checkpoint.io import load_checkpoint_file


def _ckpt() -> dict[str, object]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    return {
        "meta": {"epoch": 5, "iter": 50, "dataset_meta": {"classes": ["a", "b"]}},
        "state_dict": model.state_dict(),
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1, 2, 3]}]},
        "ema_state_dict": {k: v + 1 for k, v in model.state_dict().items()},
    }


def test_safetensors_export_holds_only_published_keys_and_the_hash_matches(tmp_path: Path) -> None:
    from safetensors import safe_open

    ckpt = _ckpt()
    out = export_checkpoint(
        ckpt, tmp_path, "epoch_5", published_keys=("meta", "state_dict"), format="safetensors"
    )
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.name == f"epoch_5-{digest[:8]}.safetensors"
    with safe_open(str(out), framework="pt") as f:
        keys = set(f.keys())
        state = ckpt["state_dict"]
        assert isinstance(state, dict)
        assert keys == set(state)  # model weights under their own names: any safetensors reader loads them
        for k in keys:
            assert torch.equal(f.get_tensor(k), state[k])
        assert json.loads(f.metadata()["meta"]) == ckpt["meta"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_other_tensor_entries_are_prefixed(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    ckpt = _ckpt()
    out = export_checkpoint(ckpt, tmp_path, "best", published_keys=("state_dict", "ema_state_dict"))
    loaded = load_file(str(out))
    assert set(loaded) == {"0.weight", "0.bias", "1.weight", "1.bias"} | {
        "ema_state_dict.0.weight", "ema_state_dict.0.bias", "ema_state_dict.1.weight", "ema_state_dict.1.bias",
    }  # fmt: skip


def test_pth_export_is_weights_only_loadable(tmp_path: Path) -> None:
    ckpt = _ckpt()
    out = export_checkpoint(ckpt, tmp_path, "epoch_5", published_keys=("meta", "state_dict"), format="pth")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.name == f"epoch_5-{digest[:8]}.pth"
    loaded = torch.load(out, weights_only=True)
    assert set(loaded) == {"meta", "state_dict"}
    assert load_checkpoint_file(out)["meta"] == ckpt["meta"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_tied_weights_are_exported(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    lin = nn.Linear(3, 3)
    state = {"encoder.weight": lin.weight, "decoder.weight": lin.weight, "bias": lin.bias}
    out = export_checkpoint({"state_dict": state}, tmp_path, "tied", published_keys=("state_dict",))
    loaded = load_file(str(out))
    assert torch.equal(loaded["encoder.weight"], loaded["decoder.weight"])
    assert torch.equal(loaded["decoder.weight"], lin.weight.detach())


def test_unknown_published_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="'ema'"):
        export_checkpoint(_ckpt(), tmp_path, "x", published_keys=("state_dict", "ema"))
    with pytest.raises(TypeError, match="optimizer"):
        export_checkpoint({"optimizer": {"s": {1: object()}}}, tmp_path, "x", published_keys=("optimizer",))
