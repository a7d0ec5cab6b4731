"""The run's text logger (MMEngine's prefix, rank-0 console + file) and the environment summary.

Lines look like ``05/14 10:12:03 - typedengine - INFO - Epoch(train) [1][10/1563]  lr: ...`` on the
console and ``2026/05/14 10:12:03 - typedengine - INFO - ...`` in the text log. Rank 0 writes both; other
ranks print only errors and write no file. Each distinct warning is printed once.

Example::

    logger = create_logger("20260514_101203", log_file=log_dir / "20260514_101203.log", rank=0)
    logger.info(env_summary(seed=42, world_size=1, device="cpu"))
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from pathlib import Path

__all__ = [
    "DuplicateWarningFilter",
    "collect_env",
    "create_logger",
    "env_summary",
    "log_detail",
    "log_info",
]

_CONSOLE_DATEFMT = "%m/%d %H:%M:%S"
_FILE_DATEFMT = "%Y/%m/%d %H:%M:%S"
_FORMAT = "%(asctime)s - typedengine - %(levelname)s - %(message)s"
_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


class DuplicateWarningFilter(logging.Filter):
    """Lets each distinct WARNING message through once; other levels pass unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        if message in self._seen:
            return False
        self._seen.add(message)
        return True


class _ConsoleFilter(logging.Filter):
    """Console rules of a record's ``console`` attribute: False = file only (e.g. while a progress bar shows
    the line), ``"debug"`` = on the console only when the console prints DEBUG (long start-up detail)."""

    def __init__(self, console_level: int) -> None:
        super().__init__()
        self.console_level = console_level

    def filter(self, record: logging.LogRecord) -> bool:
        console = getattr(record, "console", True)
        if console == "debug":
            return self.console_level <= logging.DEBUG
        return bool(console)


class _LineFormatter(logging.Formatter):
    """The run's line format; the date text is formatted once per second, not once per line."""

    def __init__(self, datefmt: str) -> None:
        super().__init__(_FORMAT, datefmt=datefmt)
        self._stamp_key: tuple[int, str | None] = (-1, None)
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's name
        key = (int(record.created), datefmt)
        if key != self._stamp_key:
            self._stamp = time.strftime(datefmt or _FILE_DATEFMT, self.converter(record.created))
            self._stamp_key = key
        return self._stamp


_FILE_ONLY = {"console": False}
_CONSOLE_AT_DEBUG = {"console": "debug"}


def log_info(logger: logging.Logger, message: str, *, console: bool = True) -> None:
    """``logger.info(message)`` without locating the caller's source line (the run's format does not show it).

    ``Logger.info`` walks the stack to fill ``pathname``/``lineno`` on every record; iteration lines are
    logged often enough for that to show in the step time. ``console=False`` writes to the file only.
    """
    if logger.isEnabledFor(logging.INFO):
        record = logger.makeRecord(
            logger.name, logging.INFO, "(unknown file)", 0, message, (), None, extra=None if console else _FILE_ONLY
        )
        logger.handle(record)


def log_detail(logger: logging.Logger, message: str) -> None:
    """Log ``message`` at INFO to the text log, but on the console only when the run's level is DEBUG.

    For long start-up detail (the hook table, the resolved config) that belongs in the log file (and is in
    ``config.json``) but would bury the training lines on the console (issue 16: 345 console lines for a
    3-epoch run, 9 of them about training).
    """
    if logger.isEnabledFor(logging.INFO):
        record = logger.makeRecord(
            logger.name, logging.INFO, "(unknown file)", 0, message, (), None, extra=_CONSOLE_AT_DEBUG
        )
        logger.handle(record)


class _StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at emit time, so a rich live display can redirect it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001  # logging must never crash the run (logging.StreamHandler's policy)
            self.handleError(record)


def create_logger(name: str, *, log_file: Path | None, rank: int, level: str = "INFO") -> logging.Logger:
    """A ``typedengine.<name>`` logger: console on stdout, plus ``log_file`` (appended) on rank 0.

    Calling it again with the same ``name`` replaces the handlers (no doubled lines). Ranks other than 0
    print ERROR and above only. The logger does not propagate to the root logger. A record logged with
    ``extra={"console": False}`` goes to the file only; :func:`log_detail` records reach the console only at
    ``level="DEBUG"``.
    """
    numeric = _LEVELS.get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}; expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    logger = logging.getLogger(f"typedengine.{name}")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    for flt in list(logger.filters):
        logger.removeFilter(flt)
    logger.setLevel(numeric)
    logger.propagate = False
    logger.addFilter(DuplicateWarningFilter())

    console = _StdoutHandler()
    console.setFormatter(_LineFormatter(_CONSOLE_DATEFMT))
    console_level = numeric if rank == 0 else logging.ERROR
    console.setLevel(console_level)
    console.addFilter(_ConsoleFilter(console_level))
    logger.addHandler(console)

    if rank == 0 and log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        file_handler.setFormatter(_LineFormatter(_FILE_DATEFMT))
        file_handler.setLevel(numeric)
        logger.addHandler(file_handler)
    return logger


def collect_env(*, seed: int | None = None, world_size: int = 1, device: str | None = None) -> dict[str, str]:
    """Versions and hardware of this process: python, torch, CUDA, GPUs, device, seed, world size."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    try:
        te_version = version("typedengine")
    except PackageNotFoundError:
        te_version = "unknown"
    env: dict[str, str] = {
        "sys.platform": sys.platform,
        "Python": sys.version.replace("\n", " "),
        "machine": platform.machine(),
        "PyTorch": torch.__version__,
        "CUDA available": str(torch.cuda.is_available()),
    }
    if torch.cuda.is_available():
        env["CUDA"] = str(torch.version.cuda)
        env["cuDNN"] = str(torch.backends.cudnn.version())  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        for i in range(torch.cuda.device_count()):
            env[f"GPU {i}"] = torch.cuda.get_device_name(i)
    env["device"] = device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    env["seed"] = "not set" if seed is None else str(seed)
    env["world size"] = str(world_size)
    env["typedengine"] = te_version
    return env


def env_summary(*, seed: int | None = None, world_size: int = 1, device: str | None = None) -> str:
    """The multi-line block logged at the start of a run (MMEngine's "System environment")."""
    rule = "-" * 60
    lines = ["", rule, "System environment:"]
    lines += [
        f"    {k}: {v}" for k, v in collect_env(seed=seed, world_size=world_size, device=device).items()
    ]
    lines.append(rule)
    return "\n".join(lines)
