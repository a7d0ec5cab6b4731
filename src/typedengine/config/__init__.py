"""typedengine.config: the config base, errors with paths, files, layering, JSON arguments and import refs.

Nothing here imports torch, so an experiment's ``--help`` stays fast.
"""

from typedengine.config.base import Config as Config
from typedengine.config.base import Tag as Tag
from typedengine.config.base import replace as replace
from typedengine.config.errors import ConfigError as ConfigError
from typedengine.config.errors import ConfigIssue as ConfigIssue
from typedengine.config.errors import ConfigProblems as ConfigProblems
from typedengine.config.errors import format_validation_error as format_validation_error
from typedengine.config.files import load_config as load_config
from typedengine.config.files import save_config as save_config
from typedengine.config.json_args import JsonDict as JsonDict
from typedengine.config.json_args import JsonList as JsonList
from typedengine.config.layers import load_layered as load_layered
from typedengine.config.refs import ImportCallConfig as ImportCallConfig
from typedengine.config.refs import ImportRef as ImportRef
from typedengine.config.refs import check_call_kwargs as check_call_kwargs

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "ConfigProblems",
    "ImportCallConfig",
    "ImportRef",
    "JsonDict",
    "JsonList",
    "Tag",
    "check_call_kwargs",
    "format_validation_error",
    "load_config",
    "load_layered",
    "replace",
    "save_config",
]
