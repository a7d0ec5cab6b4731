"""--help reads like documentation: plain text, names a person would write, every field described."""

from __future__ import annotations

import re

import pytest

from typedengine.cli import cli
from typedengine.config.cli_text import plain_text, variant_name

from .digits import DigitsExperiment


@pytest.fixture(scope="module")
def help_text() -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
        cli(DigitsExperiment, args=["--help"], environ={})
    assert info.value.code == 0
    return out.getvalue()


def test_no_rest_markup_reaches_the_terminal(help_text: str) -> None:
    assert "``" not in help_text
    assert not re.search(r":(class|func|meth|mod|attr|data):`", help_text)
    assert "Example::" not in help_text


def test_variant_names_are_the_ones_a_person_writes(help_text: str) -> None:
    assert "train-dataloader:data-loader" in help_text
    assert "val-evaluator:evaluator" in help_text
    # tyro's generated names: data-loader-config[-digits-data]-digits-data, evaluator-config[-accuracy-config]-...
    assert not re.search(r":[a-z-]+-config\b", help_text)
    assert "config[-" not in help_text


def test_redefined_root_fields_keep_their_description(help_text: str) -> None:
    # DigitsExperiment redefines work_dir without a description; RunnerConfig's one is shown
    assert re.search(r"--work-dir PATH\s*│?\s*\n.*Directory for checkpoints and logs", help_text)


def test_plain_text_renders_roles_literals_and_code_markers() -> None:
    assert plain_text("Train ``max_epochs`` epochs (see :class:`~typedengine.Runner`).") == (
        "Train max_epochs epochs (see Runner)."
    )
    assert plain_text(":func:`typedengine.cli` and *emphasis*") == "typedengine.cli and emphasis"
    assert plain_text("Example::\n\n    Cfg(a=1)") == "Example:\n\n    Cfg(a=1)"


def test_variant_names() -> None:
    from typing import Annotated

    import tyro

    from typedengine.data.dataloader import DataLoaderConfig
    from typedengine.optim.optimizers import SGDConfig

    from .digits import DigitsExperiment as D

    data = D.model_fields["train_dataloader"].annotation
    assert variant_name(Annotated[SGDConfig, tyro.conf.subcommand("plain-sgd")]) == "plain-sgd"
    assert variant_name(SGDConfig) == "sgd"  # its type tag
    assert variant_name(DataLoaderConfig[DataLoaderConfig]) == "data-loader"  # type: ignore[type-var]  # class name
    assert variant_name(type(None)) == "none"
    assert data is not None
