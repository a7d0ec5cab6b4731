"""typedengine.logs: message hub, log lines, console logger, visualizer and backends."""

from .backends import LocalBackend as LocalBackend
from .backends import LocalBackendConfig as LocalBackendConfig
from .backends import MlflowBackend as MlflowBackend
from .backends import MlflowBackendConfig as MlflowBackendConfig
from .backends import TensorboardBackend as TensorboardBackend
from .backends import TensorboardBackendConfig as TensorboardBackendConfig
from .backends import VisBackend as VisBackend
from .backends import VisBackendConfig as VisBackendConfig
from .backends import WandbBackend as WandbBackend
from .backends import WandbBackendConfig as WandbBackendConfig
from .console import collect_env as collect_env
from .console import create_logger as create_logger
from .console import env_summary as env_summary
from .history import History as History
from .history import MessageHub as MessageHub
from .processor import LogPosition as LogPosition
from .processor import LogProcessor as LogProcessor
from .processor import LogProcessorConfig as LogProcessorConfig
from .processor import Smoothing as Smoothing
from .processor import SmoothingConfig as SmoothingConfig
from .progress import PhaseProgress as PhaseProgress
from .visualizer import MissingExtraError as MissingExtraError
from .visualizer import Visualizer as Visualizer
from .visualizer import VisualizerConfig as VisualizerConfig
from .visualizer import check_visualizer as check_visualizer

__all__ = [
    "History",
    "LocalBackend",
    "LocalBackendConfig",
    "LogPosition",
    "LogProcessor",
    "LogProcessorConfig",
    "MessageHub",
    "MissingExtraError",
    "MlflowBackend",
    "MlflowBackendConfig",
    "PhaseProgress",
    "Smoothing",
    "SmoothingConfig",
    "TensorboardBackend",
    "TensorboardBackendConfig",
    "VisBackend",
    "VisBackendConfig",
    "Visualizer",
    "VisualizerConfig",
    "WandbBackend",
    "WandbBackendConfig",
    "check_visualizer",
    "collect_env",
    "create_logger",
    "env_summary",
]
