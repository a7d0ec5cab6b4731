"""DistEnv parsing of torchrun and SLURM variables, node lists, and launcher detection."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from typedengine.distributed.env import (
    DistEnv,
    LaunchError,
    Placement,
    detect_launcher,
    expand_nodelist,
    launch_note,
    launch_problem,
)

TORCHRUN = {
    "RANK": "3",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "8",
    "LOCAL_WORLD_SIZE": "2",
    "MASTER_ADDR": "node0",
    "MASTER_PORT": "29411",
    "PATH": "/usr/bin",  # unrelated variables are ignored
}
SLURM = {  # a task of an 8-task srun step
    "SLURM_PROCID": "5",
    "SLURM_NTASKS": "8",
    "SLURM_LOCALID": "1",
    "SLURM_NODELIST": "gpu[07-08,12]",
    "SLURM_JOB_ID": "4242",
    "SLURM_STEP_ID": "0",
    "SLURM_STEP_NUM_TASKS": "8",
}
BATCH_SCRIPT = {  # sbatch --ntasks 8: the script itself, before any srun (the job's variables)
    "SLURM_PROCID": "0",
    "SLURM_NTASKS": "8",
    "SLURM_LOCALID": "0",
    "SLURM_NODELIST": "gpu[07-08]",
    "SLURM_JOB_ID": "4242",
}


def test_torchrun_variables() -> None:
    env = DistEnv.from_mapping(TORCHRUN)
    assert (env.rank, env.local_rank, env.world_size, env.local_world_size) == (3, 1, 8, 2)
    assert env.placement("pytorch") == Placement(3, 8, 1, "node0", 29411)


def test_slurm_variables_and_first_host_of_the_node_list() -> None:
    env = DistEnv.from_mapping(SLURM)
    assert env.slurm_hosts == ["gpu07", "gpu08", "gpu12"]
    assert env.placement("slurm") == Placement(5, 8, 1, "gpu07", 29500)
    # an explicit MASTER_ADDR / MASTER_PORT wins over the node list and the default port
    custom = DistEnv.from_mapping({**SLURM, "MASTER_PORT": "31000", "MASTER_ADDR": "head"})
    assert custom.placement("slurm") == Placement(5, 8, 1, "head", 31000)
    # the step's node list is preferred over the job's
    step = DistEnv.from_mapping({**SLURM, "SLURM_STEP_NODELIST": "gpu[12]"})
    assert step.placement("slurm").master_addr == "gpu12"


def test_reading_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SLURM.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RANK", "2")
    env = DistEnv()
    assert env.slurm_procid == 5 and env.rank == 2


def test_missing_and_bad_variables_are_named() -> None:
    with pytest.raises(ValueError, match="WORLD_SIZE, MASTER_ADDR, MASTER_PORT"):
        DistEnv.from_mapping({"RANK": "0"}).placement("pytorch")
    with pytest.raises(ValueError, match="SLURM_LOCALID"):
        DistEnv.from_mapping({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}).placement("slurm")
    with pytest.raises(ValueError, match="SLURM_NODELIST or MASTER_ADDR"):
        DistEnv.from_mapping({"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0"}).placement(
            "slurm"
        )
    with pytest.raises(ValueError, match="rank 4 is outside the world size 4"):
        DistEnv.from_mapping({**TORCHRUN, "RANK": "4", "WORLD_SIZE": "4"}).placement("pytorch")
    with pytest.raises(ValidationError) as info:
        DistEnv.from_mapping({"RANK": "x", "SLURM_NODELIST": "n[1-"})
    names = {err["loc"][0] for err in info.value.errors()}
    assert names == {"RANK", "SLURM_NODELIST"}


@pytest.mark.parametrize(
    "nodelist,hosts",
    [
        ("node[01-04,07]", ["node01", "node02", "node03", "node04", "node07"]),
        ("a,b", ["a", "b"]),
        ("n[8-10]", ["n8", "n9", "n10"]),
        ("n[098-100]", ["n098", "n099", "n100"]),
        ("r[1-2]-g[3,5],login", ["r1-g3", "r1-g5", "r2-g3", "r2-g5", "login"]),
        ("127.0.0.1", ["127.0.0.1"]),
    ],
)
def test_expand_nodelist(nodelist: str, hosts: list[str]) -> None:
    assert expand_nodelist(nodelist) == hosts


@pytest.mark.parametrize("bad", ["", "n[3-1]", "n[a]", "n[1", "n]1[", "a,,b", "n[1-2"])
def test_expand_nodelist_rejects_malformed_lists(bad: str) -> None:
    with pytest.raises(ValueError):
        expand_nodelist(bad)


def test_detect_launcher() -> None:
    assert detect_launcher({}) == "none"
    assert detect_launcher({"PATH": "/bin"}) == "none"
    assert detect_launcher(TORCHRUN) == "pytorch"
    assert detect_launcher(SLURM) == "slurm"
    # a one-task srun inside a bigger allocation: SLURM_NTASKS may still say 8, the step says 1
    assert detect_launcher({**SLURM, "SLURM_STEP_NUM_TASKS": "1"}) == "none"
    assert detect_launcher({**SLURM, "SLURM_NTASKS": "1", "SLURM_STEP_NUM_TASKS": "1"}) == "none"
    # the batch script's variables describe the job, not started processes: never wait for peers there
    assert detect_launcher(BATCH_SCRIPT) == "none"
    # an older srun without SLURM_STEP_NUM_TASKS: the step id says it is a step, SLURM_NTASKS its size
    legacy = {k: v for k, v in SLURM.items() if k != "SLURM_STEP_NUM_TASKS"}
    assert detect_launcher(legacy) == "slurm"
    assert detect_launcher({**SLURM, **TORCHRUN}) == "pytorch"  # torchrun started inside a SLURM job
    with pytest.raises(LaunchError, match="SLURM_NTASKS"):
        detect_launcher({"SLURM_PROCID": "0", "SLURM_NTASKS": "many"})


def test_the_slurm_world_is_the_steps() -> None:
    env = DistEnv.from_mapping(
        {**SLURM, "SLURM_PROCID": "1", "SLURM_NTASKS": "16", "SLURM_STEP_NUM_TASKS": "4"}
    )
    assert env.placement("slurm").world_size == 4


def test_launches_that_would_go_wrong_are_named_with_the_fix() -> None:
    assert launch_problem("auto", TORCHRUN) is None and launch_problem("pytorch", TORCHRUN) is None
    assert (
        launch_problem("none", {}) is None and launch_problem("none", {**TORCHRUN, "WORLD_SIZE": "1"}) is None
    )
    two_copies = launch_problem("none", TORCHRUN)
    assert two_copies is not None and two_copies.startswith(
        "'none', but torchrun started this process as rank 3 of 8"
    )
    assert "write the same work_dir" in two_copies and "--launcher auto" in two_copies
    tasks = launch_problem("none", SLURM)
    assert tasks is not None and "srun started this process as task 5 of 8" in tasks
    assert launch_problem("none", BATCH_SCRIPT) is None  # one process in a batch script is what runs
    hang = launch_problem("slurm", BATCH_SCRIPT)
    assert hang is not None and "not started by srun" in hang and "SLURM_NTASKS=8 describes the job" in hang
    assert launch_problem("slurm", SLURM) is None
    note = launch_note(BATCH_SCRIPT)
    assert note is not None and "training in one process" in note
    assert launch_note(SLURM) is None and launch_note({}) is None


def test_the_planned_world_size_follows_the_launch_rules() -> None:
    from typedengine.distributed.env import planned_world_size

    assert planned_world_size("auto", TORCHRUN) == 8
    assert planned_world_size("auto", SLURM) == 8
    assert planned_world_size("auto", BATCH_SCRIPT) == 1  # the job's SLURM_NTASKS is not started processes
    assert planned_world_size("auto", {}) == 1
    assert planned_world_size("pytorch", {}) == 1
