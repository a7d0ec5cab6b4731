"""JSON-valued command-line arguments for open-keyed dict fields (optimizer kwargs, paramwise custom keys).

tyro can only edit the keys a dict default already has; fields annotated with :func:`json_spec` take the
whole dict as one JSON argument instead: ``--optim-wrapper.optimizer.kwargs '{"lr": 0.1, "lambd": 1e-4}'``.

Example::

    _ADAPTER = TypeAdapter(dict[str, float])
    Weights = Annotated[dict[str, float], json_spec(_ADAPTER)]
"""

from __future__ import annotations

from typing import Any

import tyro
from pydantic import TypeAdapter

__all__ = ["json_spec"]


def json_spec(adapter: TypeAdapter[Any]) -> tyro.constructors.PrimitiveConstructorSpec[Any]:
    """A tyro spec that parses one JSON argument with ``adapter`` (and shows defaults as JSON)."""
    return tyro.constructors.PrimitiveConstructorSpec(
        nargs=1,
        metavar="JSON",
        instance_from_str=lambda args: adapter.validate_json(args[0]),
        is_instance=lambda value: isinstance(value, dict),
        str_from_instance=lambda value: [adapter.dump_json(value).decode()],
    )
