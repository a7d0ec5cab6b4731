"""The ``typedengine`` console script dispatches to its subcommands."""

from __future__ import annotations

from typedengine.__main__ import main


def test_help_and_unknown_subcommand(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    assert "plot" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err
