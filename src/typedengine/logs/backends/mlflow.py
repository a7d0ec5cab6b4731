"""The MLflow backend: params from the flattened config, metrics with steps, config/command/images as artifacts.

Needs ``mlflow`` or ``mlflow-skinny`` (``pip install typedengine[mlflow]``). By default runs go to a local
file store at ``<work_dir>/mlruns`` (``mlflow ui --backend-store-uri work_dirs/exp/mlruns``); set
``tracking_uri`` for a server or database. MLflow ≥ 3.7 refuses file stores unless
``MLFLOW_ALLOW_FILE_STORE=true``; the backend sets that variable (if unset) only when it opens a file store.
Metrics are named ``<mode>/<name>`` at the global training iteration.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ...config.base import Config, Tag

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from .png import ImageArray

__all__ = ["MlflowBackend", "MlflowBackendConfig", "flatten_config"]

_PARAM_VALUE_MAX = 500  # MLflow stores params as short strings; long values are truncated with "..."
_BATCH = 100  # MLflow's limit of params per log_batch call


def flatten_config(data: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` → ``("a.b", "1"), ("c", "[1, 2]")`` (lists kept as JSON)."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten_config(value, name + ".")
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            if len(text) > _PARAM_VALUE_MAX:
                text = text[: _PARAM_VALUE_MAX - 3] + "..."
            yield name, text


class MlflowBackend:
    """Logs to one MLflow run (created on first use, terminated by :meth:`close`).

    Example::

        backend = MlflowBackend(tracking_uri=Path("work_dirs/exp/mlruns").resolve().as_uri(),
                                experiment_name="exp", run_name="20260514_101203")
        backend.add_scalars({"loss": 0.5}, step=10, mode="train")      # metric "train/loss", step 10
    """

    def __init__(self, *, tracking_uri: str, experiment_name: str, run_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self._client: MlflowClient | None = None
        self._run_id: str | None = None

    def _open(self) -> tuple[MlflowClient, str]:
        if self._client is None or self._run_id is None:
            if self.tracking_uri.startswith("file:") or "://" not in self.tracking_uri:
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri)
            if self._run_id is not None:  # reopened after close() (train() then test()): same run
                client.update_run(self._run_id, status="RUNNING")
            else:
                experiment = client.get_experiment_by_name(self.experiment_name)
                exp_id = (
                    experiment.experiment_id
                    if experiment is not None
                    else client.create_experiment(self.experiment_name)
                )
                self._run_id = client.create_run(exp_id, run_name=self.run_name).info.run_id
            self._client = client
        return self._client, self._run_id

    @property
    def run_id(self) -> str:
        """The MLflow run id (opens the run on first access)."""
        return self._open()[1]

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        from mlflow.entities import Metric

        client, run_id = self._open()
        now_ms = int(time.time() * 1000)
        metrics = [Metric(f"{mode}/{k}", float(v), now_ms, step) for k, v in scalars.items()]
        for i in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + _BATCH])

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        from mlflow.entities import Param

        client, run_id = self._open()
        params = [Param(k, v) for k, v in flatten_config(config_json)]
        for i in range(0, len(params), _BATCH):
            client.log_batch(run_id, params=params[i : i + _BATCH])
        client.log_text(run_id, json.dumps(config_json, indent=2), "config.json")
        client.log_text(run_id, command + "\n", "command.txt")

    def add_image(self, name: str, image: ImageArray, step: int) -> None:
        client, run_id = self._open()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name.replace('/', '_')}_{step}.png"
            from .png import write_png

            write_png(path, image)
            client.log_artifact(run_id, str(path), artifact_path="vis")

    def close(self) -> None:
        if self._client is not None and self._run_id is not None:
            self._client.set_terminated(self._run_id)
        self._client = None  # the run id is kept: logging again reopens the same run


class MlflowBackendConfig(Config):
    """An MLflow run per training run (optional extra: ``typedengine[mlflow]``).

    Example: ``MlflowBackendConfig(tracking_uri="http://mlflow:5000", experiment_name="digits")``.
    """

    type: Tag[Literal["mlflow"]] = "mlflow"
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; None = a local file store at <work_dir>/mlruns."
    )
    experiment_name: str | None = Field(None, description="MLflow experiment; None = the work dir's name.")
    run_name: str | None = Field(None, description="MLflow run name; None = the run's timestamp.")

    def build(self, *, save_dir: Path) -> MlflowBackend:
        """The backend for the run logging to ``save_dir`` (``work_dir/<timestamp>``)."""
        work_dir = save_dir.resolve().parent
        return MlflowBackend(
            tracking_uri=self.tracking_uri or (work_dir / "mlruns").as_uri(),
            experiment_name=self.experiment_name or work_dir.name,
            run_name=self.run_name or save_dir.name,
        )
