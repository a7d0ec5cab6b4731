"""JSON-valued command-line arguments for open-keyed dict fields (optimizer kwargs, paramwise custom keys).

tyro can only edit the keys a dict default already has; these fields take the whole dict as one JSON
argument instead: ``--optim-wrapper.optimizer.kwargs '{"lr": 0.1, "lambd": 1e-4}'``.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import tyro
from pydantic import TypeAdapter

__all__ = ["json_arg"]

T = TypeVar("T")


def json_arg(tp: type[T]) -> object:
    """``Annotated[tp, spec]`` where the CLI reads and shows the value as one JSON argument."""
    adapter: TypeAdapter[T] = TypeAdapter(tp)
    spec = tyro.constructors.PrimitiveConstructorSpec(
        nargs=1,
        metavar="JSON",
        instance_from_str=lambda args: adapter.validate_json(args[0]),
        is_instance=lambda value: isinstance(value, dict),
        str_from_instance=lambda value: [adapter.dump_json(value).decode()],
    )
    return Annotated[tp, spec]
