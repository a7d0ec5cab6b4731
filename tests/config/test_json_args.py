"""JsonList/JsonDict: one JSON argument validated element by element with paths."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from typedengine.config.base import Config
from typedengine.config.errors import format_validation_error
from typedengine.config.json_args import JsonDict, JsonList

from .toy_configs import CheckpointHook, EMAHook, Hook, Toy


class Holder(Config):
    """Hooks and free-form keyword arguments."""

    hooks: JsonList[Hook] = Field((), description="Hooks.")
    extra: JsonDict = Field(default_factory=dict, description="Keyword arguments.")


def test_json_text_and_python_values_give_the_same_config() -> None:
    from_text = Holder.model_validate({"hooks": '[{"type": "ema", "momentum": 0.1}, {"type": "checkpoint"}]'})
    from_python = Holder(hooks=(EMAHook(momentum=0.1), CheckpointHook()))
    assert from_text == from_python
    assert Holder.model_validate_json(from_python.model_dump_json()) == from_python
    assert Holder.model_validate({"extra": '{"a": [1, 2], "b": null}'}).extra == {"a": [1, 2], "b": None}


def test_errors_name_the_element() -> None:
    with pytest.raises(ValidationError) as info:
        Holder.model_validate({"hooks": '[{"type": "ema", "momentum": 5}, {"type": "emma"}]', "extra": "[1]"})
    assert [str(i) for i in format_validation_error(info.value, Holder)] == [
        "hooks[0].momentum: must be < 1.0",
        "hooks[1]: unknown type 'emma'; did you mean 'ema'? (choices: checkpoint, ema)",
        "extra: expected a mapping, got [1]",
    ]


def test_malformed_json_is_one_clear_issue() -> None:
    with pytest.raises(ValidationError) as info:
        Toy.model_validate({"custom_hooks": '[{"type": "ema",]'})
    (issue,) = format_validation_error(info.value, Toy)
    assert issue.path == "custom_hooks"
    assert issue.message.startswith("invalid JSON (Expecting property name enclosed in double quotes at line 1 column 17)")
