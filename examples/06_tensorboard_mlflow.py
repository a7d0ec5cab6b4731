"""06 — log to TensorBoard and MLflow next to the local files, keep an EMA of the weights, stop early,
and draw the curves.

The visualizer's backends are a tuple of typed configs: ``local`` (``scalars.jsonl``, ``config.json``,
``command.txt``), ``tensorboard`` (event files under ``<log_dir>/tensorboard``) and ``mlflow`` (a local file
store at ``<work_dir>/mlruns`` unless ``tracking_uri`` is set). A missing optional package is reported
before training starts, with the extra to install (``pip install typedengine[tensorboard]``).

Usage:
    python examples/06_tensorboard_mlflow.py                       # 6 epochs on scikit-learn's digits
    python examples/06_tensorboard_mlflow.py --train.max-epochs 1 --default-hooks.logger.no-progress
    tensorboard --logdir work_dirs/digits_tb_mlflow
    mlflow ui --backend-store-uri work_dirs/digits_tb_mlflow/mlruns
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

import typedengine as te

if TYPE_CHECKING:
    from digits_parts import DigitsNet
    from torch.utils.data import TensorDataset


class DigitsData(te.DatasetConfig):
    """scikit-learn's digits, split once into train/val with a fixed permutation."""

    split: Literal["train", "val"] = Field("train", description="Which part of the fixed split to load.")

    def build(self) -> TensorDataset:
        from digits_parts import digits_dataset

        return digits_dataset(self.split, 0.2, 0)

    def declared_length(self) -> int:
        from digits_parts import split_sizes

        n_train, n_val = split_sizes(0.2)
        return n_train if self.split == "train" else n_val


class DigitsNetConfig(te.ModelConfig):
    """A small CNN for 8x8 digits."""

    width: int = Field(16, gt=0, description="Channels of the first convolution.")

    def build(self) -> DigitsNet:
        from digits_parts import DigitsNet

        return DigitsNet(self.width)


class TrackedDigits(te.RunnerConfig):
    """Digits with TensorBoard + MLflow logging, an EMA of the weights and early stopping on accuracy."""

    model: DigitsNetConfig = DigitsNetConfig()
    work_dir: Path = Path("work_dirs/digits_tb_mlflow")
    train_dataloader: te.DataLoaderConfig[DigitsData] | None = te.DataLoaderConfig[DigitsData](
        dataset=DigitsData(split="train"), batch_size=64
    )
    val_dataloader: te.DataLoaderConfig[DigitsData] | None = te.DataLoaderConfig[DigitsData](
        dataset=DigitsData(split="val"), batch_size=256, shuffle=False
    )
    train: te.TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=6, val_interval=1)
    optim_wrapper: te.OptimWrapperUnion | None = te.OptimWrapperConfig(
        optimizer=te.SGDConfig(lr=0.05, momentum=0.9)
    )
    val_evaluator: te.EvaluatorConfig[te.AccuracyConfig] | None = te.EvaluatorConfig[te.AccuracyConfig](
        metrics=(te.AccuracyConfig(),)
    )
    default_hooks: te.DefaultHooksConfig = te.DefaultHooksConfig(
        logger=te.LoggerHookConfig(interval_iters=5),
        ema=te.EMAHookConfig(momentum=0.05),
        early_stopping=te.EarlyStoppingHookConfig(monitor="accuracy", patience=2, min_delta=0.05),
    )
    visualizer: te.VisualizerConfig = te.VisualizerConfig(
        backends=(te.LocalBackendConfig(), te.TensorboardBackendConfig(), te.MlflowBackendConfig())
    )
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=0)


def main() -> None:
    cfg = te.cli(TrackedDigits, description=__doc__)
    with te.Runner.from_config(cfg) as runner:
        runner.train()
    curves = runner.log_dir / "curves.png"
    try:
        scalars = te.load_scalars(runner.log_dir)
        drawn = te.plot_curves([(runner.log_dir.name, scalars)], ["loss", "lr", "accuracy"], curves)
        runner.logger.info(f"Curves:      {curves} ({', '.join(drawn)})")
    except ImportError:
        runner.logger.warning("curves not drawn: plotting needs matplotlib (pip install typedengine[plot])")
    runner.logger.info(f"TensorBoard: tensorboard --logdir {runner.log_dir / 'tensorboard'}")
    runner.logger.info(f"MLflow:      mlflow ui --backend-store-uri {runner.work_dir / 'mlruns'}")


if __name__ == "__main__":
    main()
