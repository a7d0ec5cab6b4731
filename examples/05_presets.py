"""05 — several named experiments in one file: presets, config files and the environment.

Presets stand in for MMEngine's per-variant config files: each is a complete, typed config object, the
first command-line argument picks one, and every flag still edits it (unions included). On top of the
chosen preset come a config file, ``TYPEDENGINE_`` environment variables, then flags.

Usage:
    python examples/05_presets.py --help                        # lists the presets
    python examples/05_presets.py smoke --plan                  # what the smoke run will do, nothing built
    python examples/05_presets.py smoke                         # 1 epoch, small net
    python examples/05_presets.py adamw --train.max-epochs 3    # a preset, edited
    python examples/05_presets.py long --print-config > long.json
    python examples/05_presets.py --config long.json --model.width 48
    TYPEDENGINE_TRAIN__MAX_EPOCHS=4 python examples/05_presets.py smoke
"""

from __future__ import annotations

from importlib import import_module
from typing import cast

import typedengine as te

# The digits experiment of example 01 (its file name starts with a digit, so it is imported by name).
DigitsExperiment = cast("type[te.RunnerConfig]", import_module("01_digits").DigitsExperiment)


def presets() -> dict[str, tuple[str, te.RunnerConfig]]:
    """The named starting points, each a validated config built from the 01 defaults."""
    base = DigitsExperiment.model_validate({})  # the class defaults (typed as the RunnerConfig base here)
    return {
        "smoke": (
            "1 epoch with a narrow network: checks the whole pipeline in seconds",
            te.replace(
                base,
                model=te.replace(base.model, width=8),
                train=te.EpochBasedTrainLoopConfig(max_epochs=1),
                param_scheduler=(),
            ),
        ),
        "adamw": (
            "AdamW with warmup and cosine decay instead of SGD",
            te.replace(
                base,
                optim_wrapper=te.OptimWrapperConfig(optimizer=te.AdamWConfig(lr=2e-3, weight_decay=0.05)),
                param_scheduler=(
                    te.LinearSchedulerConfig(start_factor=0.01, by_epoch=False, begin=0, end=30),
                    te.CosineAnnealingSchedulerConfig(by_epoch=True, begin=0),
                ),
            ),
        ),
        "long": (
            "30 epochs with dropout; validation every 5 epochs",
            te.replace(
                base,
                model=te.replace(base.model, dropout=0.2),
                train=te.EpochBasedTrainLoopConfig(max_epochs=30, val_interval=5),
            ),
        ),
    }


def main() -> None:
    cfg = te.cli(DigitsExperiment, presets=presets(), description=__doc__)
    te.Runner.from_config(cfg).train()


if __name__ == "__main__":
    main()
