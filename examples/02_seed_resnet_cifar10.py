"""02 — the seed's example: ResNet-50 on CIFAR-10, written in the seed's style (built objects).

MMEngine's tutorial builds a model, two DataLoaders and a metric by hand and hands them to the Runner;
typedengine accepts the same objects (or their configs) argument by argument. Only the loop and
optimizer settings are typed configs here. CIFAR-10 is read from ``--data.root`` (never downloaded);
``--data.fake`` swaps in torchvision's FakeData so the example runs anywhere (tests run it that way).

Usage:
    python examples/02_seed_resnet_cifar10.py --data.root data/cifar10
    python examples/02_seed_resnet_cifar10.py --data.fake --data.fake-size 32 --max-epochs 1
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import Field

import typedengine as te

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset


class CifarData(te.Config):
    """Where CIFAR-10 comes from."""

    root: Path = Field(Path("data/cifar10"), description="Directory holding the extracted cifar-10-batches-py.")
    fake: bool = Field(False, description="Use torchvision FakeData (random 32x32 images) instead of CIFAR-10.")
    fake_size: int = Field(64, ge=1, description="Number of FakeData images per split.")


class SeedExperiment(te.Config):
    """The seed's run: 5 epochs of SGD (lr 0.001, momentum 0.9), batch 32, validation every epoch."""

    data: CifarData = CifarData()
    work_dir: Path = Field(Path("work_dirs/seed_resnet"), description="Checkpoints and logs go here.")
    max_epochs: int = Field(5, ge=1, description="Training epochs.")
    batch_size: int = Field(32, ge=1, description="Batch size of both loaders.")


def build_datasets(data: CifarData) -> tuple[Dataset[object], Dataset[object]]:
    import torchvision
    from torchvision import transforms

    norm = transforms.Normalize(mean=[0.491, 0.482, 0.447], std=[0.202, 0.199, 0.201])
    train_tf = transforms.Compose(
        [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor(), norm]
    )
    val_tf = transforms.Compose([transforms.ToTensor(), norm])
    if data.fake:
        fake = torchvision.datasets.FakeData
        return (
            fake(data.fake_size, (3, 32, 32), 10, transform=train_tf, random_offset=0),
            fake(data.fake_size, (3, 32, 32), 10, transform=val_tf, random_offset=1),
        )
    cifar = torchvision.datasets.CIFAR10
    return (
        cifar(str(data.root), train=True, download=False, transform=train_tf),
        cifar(str(data.root), train=False, download=False, transform=val_tf),
    )


def main() -> None:
    args = te.cli(SeedExperiment, description=__doc__)

    import torch.nn.functional as F
    import torchvision
    from torch.utils.data import DataLoader

    class MMResNet50(te.BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.resnet = torchvision.models.resnet50()

        def forward(
            self, imgs: torch.Tensor, labels: torch.Tensor, mode: str = "tensor"
        ) -> object:
            x = self.resnet(imgs)
            if mode == "loss":
                return {"loss": F.cross_entropy(x, labels)}
            if mode == "predict":
                return x, labels
            return x

    class Accuracy(te.BaseMetric):
        def process(self, data_batch: object, data_samples: object) -> None:
            score, gt = cast("tuple[torch.Tensor, torch.Tensor]", data_samples)  # forward(mode="predict")
            self.results.append({"batch_size": len(gt), "correct": (score.argmax(dim=1) == gt).sum().cpu()})

        def compute_metrics(self, results: list[object]) -> dict[str, float]:
            rows = cast("list[dict[str, torch.Tensor | int]]", results)  # the dicts process() appended
            total_correct = sum(int(r["correct"]) for r in rows)
            total_size = sum(int(r["batch_size"]) for r in rows)
            return {"accuracy": 100 * total_correct / total_size}

    train_set, val_set = build_datasets(args.data)
    with te.Runner(
        model=MMResNet50(),
        work_dir=args.work_dir,
        train_dataloader=DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.001, momentum=0.9)),
        train=te.EpochBasedTrainLoopConfig(max_epochs=args.max_epochs, val_interval=1),
        val_dataloader=DataLoader(val_set, batch_size=args.batch_size, shuffle=False),
        val=te.ValLoopConfig(),
        val_evaluator=Accuracy(),
    ) as runner:
        runner.train()


if __name__ == "__main__":
    main()
