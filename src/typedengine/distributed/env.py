"""What the launcher told this process: torchrun's and SLURM's environment variables, parsed and checked.

:class:`DistEnv` is a pydantic-settings model. ``DistEnv()`` reads ``os.environ``;
``DistEnv.from_mapping(env)`` reads any mapping (tests use a fake environment). Unset variables are
``None``; :meth:`DistEnv.placement` turns the variables of one launcher into this process's rank, world
size, local rank and rendezvous address, with an error naming the missing variable.

Example::

    env = DistEnv()
    launcher = detect_launcher(os.environ)          # "pytorch" under torchrun
    where = env.placement(launcher)                  # Placement(rank=1, world_size=2, local_rank=1, ...)

SLURM gives no rendezvous address; the first host of ``SLURM_NODELIST`` (``node[01-04,07]`` → ``node01``)
serves it, on ``MASTER_PORT`` when set, else 29500.

SLURM's variables describe either the *job* (a batch script or an ``salloc`` shell: ``SLURM_NTASKS`` is
what the job asked for, nothing was started yet) or a *step* started by ``srun`` (``SLURM_STEP_ID``,
``SLURM_STEP_NUM_TASKS``: the processes that really run). Only a step of several tasks is a distributed
launch; treating a job's variables as one would wait forever for tasks that never start.
:func:`launch_problem` names the launches that would go wrong (``--launcher none`` under torchrun: N
independent copies writing one work dir; ``--launcher slurm`` outside ``srun``: a wait for absent peers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from typedengine.errors import UsageError

__all__ = [
    "DEFAULT_MASTER_PORT",
    "DistEnv",
    "LaunchError",
    "Launcher",
    "Placement",
    "ResolvedLauncher",
    "detect_launcher",
    "expand_nodelist",
    "launch_note",
    "launch_problem",
    "planned_world_size",
]

Launcher = Literal["none", "pytorch", "slurm", "auto"]
"""How the processes were started: ``none`` (one plain process), ``pytorch`` (torchrun or any launcher
setting RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT), ``slurm`` (``srun``), ``auto`` (detect from the environment)."""


class LaunchError(UsageError, ValueError):
    """The launcher setting does not fit how the process was started (exit code 2, before anything is
    built)."""


ResolvedLauncher = Literal["none", "pytorch", "slurm"]

DEFAULT_MASTER_PORT = 29500


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: ``a[1,2],b`` → ``["a[1,2]", "b"]``."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ']' in node list {text!r}")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ValueError(f"unbalanced '[' in node list {text!r}")
    parts.append("".join(current))
    return parts


_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _expand_range_list(spec: str, whole: str) -> list[str]:
    """``01-03,07`` → ``["01", "02", "03", "07"]`` (zero padding follows the first bound's width)."""
    out: list[str] = []
    for item in spec.split(","):
        match = _RANGE.match(item.strip())
        if match is None:
            raise ValueError(f"bad range {item!r} in node list {whole!r}")
        low_text, high_text = match.group(1), match.group(2)
        low = int(low_text)
        high = int(high_text) if high_text is not None else low
        if high < low:
            raise ValueError(f"descending range {item!r} in node list {whole!r}")
        width = len(low_text)
        out.extend(str(n).zfill(width) for n in range(low, high + 1))
    return out


def _expand_host_pattern(pattern: str, whole: str) -> list[str]:
    """Expand every bracket group of one host pattern (``r[1-2]n[1-2]`` gives four hosts)."""
    start = pattern.find("[")
    if start < 0:
        if "]" in pattern:
            raise ValueError(f"unbalanced ']' in node list {whole!r}")
        return [pattern]
    end = pattern.find("]", start)
    if end < 0:
        raise ValueError(f"unbalanced '[' in node list {whole!r}")
    prefix, spec, rest = pattern[:start], pattern[start + 1 : end], pattern[end + 1 :]
    tails = _expand_host_pattern(rest, whole)
    return [prefix + number + tail for number in _expand_range_list(spec, whole) for tail in tails]


def expand_nodelist(nodelist: str) -> list[str]:
    """Every host of a SLURM node list, in order: ``node[01-02,07],gpu3`` → node01, node02, node07, gpu3."""
    text = nodelist.strip()
    if not text:
        raise ValueError("empty node list")
    hosts: list[str] = []
    for part in _split_top_level(text):
        if not part:
            raise ValueError(f"empty host entry in node list {nodelist!r}")
        hosts.extend(_expand_host_pattern(part, nodelist))
    return hosts


@dataclass(frozen=True)
class Placement:
    """Where this process sits in the job and where the ranks meet."""

    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int


class DistEnv(BaseSettings):
    """The launcher variables of this process (``None`` when unset); ``DistEnv()`` reads ``os.environ``.

    Example::

        DistEnv.from_mapping({"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1",
                              "SLURM_NODELIST": "node[01-02]"}).placement("slurm")
        # Placement(rank=5, world_size=8, local_rank=1, master_addr='node01', master_port=29500)
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, validate_by_name=True)

    rank: int | None = Field(None, ge=0, validation_alias="RANK", description="torchrun: global rank.")
    local_rank: int | None = Field(
        None, ge=0, validation_alias="LOCAL_RANK", description="torchrun: rank on this node."
    )
    world_size: int | None = Field(
        None, ge=1, validation_alias="WORLD_SIZE", description="torchrun: number of processes."
    )
    local_world_size: int | None = Field(
        None, ge=1, validation_alias="LOCAL_WORLD_SIZE", description="torchrun: processes on this node."
    )
    master_addr: str | None = Field(
        None, min_length=1, validation_alias="MASTER_ADDR", description="Host of the rendezvous store."
    )
    master_port: int | None = Field(
        None, ge=1, le=65535, validation_alias="MASTER_PORT", description="Port of the rendezvous store."
    )
    slurm_procid: int | None = Field(
        None, ge=0, validation_alias="SLURM_PROCID", description="SLURM: global task rank."
    )
    slurm_ntasks: int | None = Field(
        None, ge=1, validation_alias="SLURM_NTASKS", description="SLURM: number of tasks."
    )
    slurm_localid: int | None = Field(
        None, ge=0, validation_alias="SLURM_LOCALID", description="SLURM: task rank on this node."
    )
    slurm_step_id: int | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("SLURM_STEP_ID", "SLURM_STEPID"),
        description="SLURM: the step srun started (unset in a batch script or an salloc shell).",
    )
    slurm_step_num_tasks: int | None = Field(
        None,
        ge=1,
        validation_alias="SLURM_STEP_NUM_TASKS",
        description="SLURM: tasks srun started in this step.",
    )
    slurm_nodelist: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLURM_STEP_NODELIST", "SLURM_NODELIST", "SLURM_JOB_NODELIST"),
        description="SLURM: hosts of the step (compressed, e.g. node[01-04,07]).",
    )

    @field_validator("slurm_nodelist")
    @classmethod
    def _nodelist_parses(cls, value: str | None) -> str | None:
        if value is not None:
            expand_nodelist(value)
        return value

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> DistEnv:
        """Read the variables from ``env`` instead of ``os.environ``."""
        return cls.model_validate(dict(env))

    @property
    def slurm_step_tasks(self) -> int | None:
        """The tasks of the srun step this process belongs to; None outside a step (a batch script)."""
        if self.slurm_step_num_tasks is not None:
            return self.slurm_step_num_tasks
        if self.slurm_step_id is not None:
            return self.slurm_ntasks
        return None

    @property
    def slurm_hosts(self) -> list[str]:
        """The expanded ``SLURM_NODELIST`` (empty when unset)."""
        return expand_nodelist(self.slurm_nodelist) if self.slurm_nodelist is not None else []

    def placement(self, launcher: ResolvedLauncher) -> Placement:
        """This process's rank, world size, local rank and rendezvous address under ``launcher``."""
        if launcher == "none":
            return Placement(0, 1, 0, "127.0.0.1", self.master_port or DEFAULT_MASTER_PORT)
        if launcher == "pytorch":
            missing = [
                name
                for name, value in (
                    ("RANK", self.rank),
                    ("WORLD_SIZE", self.world_size),
                    ("MASTER_ADDR", self.master_addr),
                    ("MASTER_PORT", self.master_port),
                )
                if value is None
            ]
            if missing:
                raise LaunchError(
                    f"launcher 'pytorch' needs the environment variable(s) {', '.join(missing)} "
                    "(set by torchrun); start with `torchrun --nproc-per-node N ...` or use --launcher none"
                )
            assert self.rank is not None and self.world_size is not None  # checked above, for mypy
            assert self.master_addr is not None and self.master_port is not None
            rank, world_size = self.rank, self.world_size
            local_rank = self.local_rank if self.local_rank is not None else rank
            addr, port = self.master_addr, self.master_port
        else:
            missing = [
                name
                for name, value in (
                    ("SLURM_PROCID", self.slurm_procid),
                    ("SLURM_NTASKS", self.slurm_ntasks),
                    ("SLURM_LOCALID", self.slurm_localid),
                )
                if value is None
            ]
            if missing:
                raise LaunchError(
                    f"launcher 'slurm' needs the environment variable(s) {', '.join(missing)} "
                    "(set by srun); start the processes with `srun python ...`"
                )
            assert self.slurm_procid is not None and self.slurm_ntasks is not None  # checked above
            assert self.slurm_localid is not None
            world_size = self.slurm_step_tasks or self.slurm_ntasks
            rank, local_rank = self.slurm_procid, self.slurm_localid
            if self.master_addr is not None:
                addr = self.master_addr
            elif self.slurm_nodelist is not None:
                addr = self.slurm_hosts[0]
            else:
                raise LaunchError(
                    "launcher 'slurm' needs SLURM_NODELIST or MASTER_ADDR to find the first host"
                )
            port = self.master_port or DEFAULT_MASTER_PORT
        if not 0 <= rank < world_size:
            raise LaunchError(f"rank {rank} is outside the world size {world_size}")
        return Placement(rank, world_size, local_rank, addr, port)


def _int_var(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise LaunchError(f"{name} must be an integer, got {value!r}") from exc


def _slurm_step_tasks(env: Mapping[str, str]) -> int | None:
    """Tasks of the srun step this process runs in; None outside a step (batch script, salloc shell)."""
    step_tasks = _int_var(env, "SLURM_STEP_NUM_TASKS")
    if step_tasks is not None:
        return step_tasks
    if "SLURM_STEP_ID" in env or "SLURM_STEPID" in env:
        return _int_var(env, "SLURM_NTASKS")
    return None


def detect_launcher(env: Mapping[str, str]) -> ResolvedLauncher:
    """Which launcher started this process, from its environment (what ``launcher="auto"`` resolves to).

    ``pytorch`` when RANK and WORLD_SIZE are set (torchrun, including torchrun inside a SLURM job);
    ``slurm`` when SLURM_PROCID is set and this process belongs to an ``srun`` step of more than one task
    (SLURM_STEP_NUM_TASKS, or SLURM_STEP_ID with SLURM_NTASKS); ``none`` otherwise: a plain process, a
    one-task ``srun``, and a batch script or ``salloc`` shell, whose SLURM_NTASKS describes the job, not
    processes that were started.
    """
    if "RANK" in env and "WORLD_SIZE" in env:
        return "pytorch"
    _int_var(env, "SLURM_NTASKS")  # a malformed value is an error, not "no SLURM"
    step_tasks = _slurm_step_tasks(env)
    if "SLURM_PROCID" in env and step_tasks is not None and step_tasks > 1:
        return "slurm"
    return "none"


def launch_problem(launcher: Launcher, env: Mapping[str, str]) -> str | None:
    """Why ``launcher`` does not fit the way this process was started, or None when it does.

    Caught before anything is built: ``none`` in a process that torchrun (WORLD_SIZE > 1) or ``srun`` (a
    step of several tasks) started as one of several, which would make each process train alone on the
    whole data and write the same work dir; ``slurm`` in a process that srun did not start (a batch
    script), which would wait forever for the job's other tasks.
    """
    world = _int_var(env, "WORLD_SIZE")
    step_tasks = _slurm_step_tasks(env) if "SLURM_PROCID" in env else None
    if launcher == "none":
        if "RANK" in env and world is not None and world > 1:
            return (
                f"'none', but torchrun started this process as rank {env['RANK']} of {world} (RANK and "
                "WORLD_SIZE "
                f"are set): the {world} processes would each train alone on the whole data and write the "
                "same "
                "work_dir; use --launcher auto (the default) or pytorch, or start one process with plain "
                "python"
            )
        if step_tasks is not None and step_tasks > 1:
            return (
                f"'none', but srun started this process as task {env.get('SLURM_PROCID')} of {step_tasks}: "
                "the "
                f"{step_tasks} tasks would each train alone on the whole data and write the same work_dir; "
                "use "
                "--launcher auto (the default) or slurm, or start one task with `srun --ntasks 1`"
            )
    if launcher == "slurm" and "RANK" not in env and "SLURM_PROCID" in env and step_tasks is None:
        ntasks = env.get("SLURM_NTASKS", "?")
        return (
            "'slurm', but this process was not started by srun (SLURM_STEP_ID is unset: this is the batch "
            "script "
            f"or an salloc shell, and SLURM_NTASKS={ntasks} describes the job, not started processes), so it "
            "would wait for peers that never come; run the training with `srun python ...` (one task per "
            "process), or use --launcher auto"
        )
    return None


def launch_note(env: Mapping[str, str]) -> str | None:
    """A remark for a single-process run whose SLURM job has room for more (no error: nothing goes wrong)."""
    if "RANK" in env or "SLURM_PROCID" not in env or _slurm_step_tasks(env) is not None:
        return None
    ntasks = _int_var(env, "SLURM_NTASKS")
    if ntasks is None or ntasks <= 1:
        return None
    return (
        f"SLURM job with SLURM_NTASKS={ntasks}, but this process was not started by srun: training in one "
        "process; start it with `srun python ...` to use every task"
    )


def planned_world_size(launcher: Launcher, env: Mapping[str, str]) -> int:
    """The number of processes a run with ``launcher`` will have in this environment (for ``--plan``).

    The same rules as the run itself: ``auto`` resolves with :func:`detect_launcher`, so a batch script's
    ``SLURM_NTASKS`` (the job's, not started processes) counts as one process.
    """
    resolved = detect_launcher(env) if launcher == "auto" else launcher
    if resolved == "pytorch":
        return _int_var(env, "WORLD_SIZE") or 1
    if resolved == "slurm":
        return _slurm_step_tasks(env) or _int_var(env, "SLURM_NTASKS") or 1
    return 1
