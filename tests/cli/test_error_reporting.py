"""How a command-line run reports errors: one message and the error's exit code, tracebacks on request."""

from __future__ import annotations

import pytest

from typedengine.config.errors import ConfigError, ConfigIssue
from typedengine.errors import (
    DEBUG_VARIABLE,
    Fault,
    UsageError,
    enable_cli_reporting,
    exit_on_error,
    reported,
    setting_hint,
)


@reported
def _fails(exc: BaseException) -> None:
    raise exc


def test_outside_a_command_line_run_errors_propagate() -> None:
    with pytest.raises(UsageError):
        _fails(UsageError("resume: not a checkpoint"))


@pytest.mark.parametrize(("exc", "code"), [(UsageError("resume: x: not a checkpoint"), 2), (Fault("/a/b.pth: corrupt"), 1)])
def test_in_a_command_line_run_one_message_and_the_exit_code(
    exc: Exception, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    enable_cli_reporting()
    with pytest.raises(SystemExit) as info:
        _fails(exc)
    assert info.value.code == code
    assert capsys.readouterr().err == f"error: {exc}\n(set {DEBUG_VARIABLE}=1 to see the traceback)\n"


def test_a_config_error_is_not_prefixed_twice(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    enable_cli_reporting()
    with pytest.raises(SystemExit), exit_on_error():
        raise ConfigError([ConfigIssue("work_dir", "x is a file, not a directory")], "the Runner's arguments")
    assert capsys.readouterr().err.splitlines()[:2] == [
        "error: 1 config problem in the Runner's arguments:",
        "  work_dir: x is a file, not a directory",
    ]


def test_debug_variable_keeps_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_VARIABLE, "1")
    enable_cli_reporting()
    with pytest.raises(Fault):
        _fails(Fault("dead peer"))


def test_other_exceptions_are_bugs_and_keep_their_traceback() -> None:
    enable_cli_reporting()
    with pytest.raises(KeyError):
        _fails(KeyError("a bug"))


def test_setting_hints_use_the_form_the_user_types() -> None:
    assert setting_hint("resume", True) == "resume=True"
    enable_cli_reporting()
    assert setting_hint("resume", True) == "--resume True"
    assert setting_hint("default_hooks.checkpoint.interval", 2) == "--default-hooks.checkpoint.interval 2"


def test_the_debug_variable_is_not_a_config_field() -> None:
    from tests.config.toy_configs import Toy
    from typedengine.config.layers import load_layered

    assert load_layered(Toy, environ={DEBUG_VARIABLE: "1"}) == Toy()


def test_in_a_distributed_launch_a_usage_error_is_printed_by_rank_0_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    monkeypatch.setenv("RANK", "1")
    enable_cli_reporting()
    with pytest.raises(SystemExit) as info:
        _fails(UsageError("train.max_epochs: must be >= 1"))
    assert info.value.code == 2 and capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as info:
        _fails(Fault("/ckpt/epoch_3.pth: no space left on device"))
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith("[rank 1] error: /ckpt/epoch_3.pth: no space left on device")
