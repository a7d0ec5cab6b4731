"""typedengine trains bit-identically to a hand-written PyTorch loop (same seed, data order, SGD momentum)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.hooks.choices import DefaultHooksConfig


class LossRecorder(te.Hook):
    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def,override]
        assert outputs is not None
        self.losses.append(outputs["loss"].clone())


def _hand_written(model: TinyMLP, data: torch.utils.data.TensorDataset, epochs: int, seed: int) -> list[torch.Tensor]:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    n = len(data)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        for start in range(0, n, 16):
            idx = order[start : start + 16]
            x, y = data.tensors[0][idx], data.tensors[1][idx]
            opt.zero_grad()
            loss = F.cross_entropy(model.net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.detach().clone())
    return losses


def test_bit_identical_to_hand_written_loop(tmp_path: Path) -> None:
    data = make_data(n=80)
    torch.manual_seed(123)
    model = TinyMLP()
    reference = copy.deepcopy(model)
    seed = 7
    rec = LossRecorder()
    runner = te.Runner(
        model=model,
        work_dir=tmp_path,
        train_dataloader=te.DataLoaderConfig[_Tensors](dataset=_Tensors(n=80), batch_size=16),
        train=te.EpochBasedTrainLoopConfig(max_epochs=3),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.05, momentum=0.9)),
        randomness=te.RandomnessConfig(seed=seed),
        default_hooks=DefaultHooksConfig(checkpoint=None),
        custom_hooks=[rec],
    )
    runner.train()
    expected = _hand_written(reference, data, epochs=3, seed=seed)
    assert len(rec.losses) == len(expected) == 15
    assert all(torch.equal(a, b) for a, b in zip(rec.losses, expected))
    trained = runner.unwrapped_model.state_dict()
    for k, v in reference.state_dict().items():
        assert torch.equal(trained[k], v), k


class _Tensors(te.DatasetConfig):
    n: int = 80

    def build(self) -> torch.utils.data.TensorDataset:
        return make_data(n=self.n)

    def declared_length(self) -> int:
        return self.n
