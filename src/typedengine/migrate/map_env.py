"""Map where and how a run executes: ``env_cfg``, ``randomness``, the DDP wrapper (``model_wrapper_cfg``,
``find_unused_parameters``, ``sync_bn``), ``load_from`` / ``resume``, ``launcher``, ``log_level``, ``compile``.

Two translations by meaning: MMEngine's Runner wraps with ``DDP(broadcast_buffers=False)`` when the config
has no ``model_wrapper_cfg`` (typedengine's DDP default is True), so that is written out; ``resume=True``
with ``load_from`` resumes from that file in MMEngine, which is typedengine's ``resume=PATH``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..distributed.process_group import DistConfig
from ..model.wrapping import DDPConfig
from ..runner.compile import CompileConfig
from ..runner.env import EnvConfig
from ..runner.randomness import RandomnessConfig
from .map_common import MISSING, Mapping, Root, Section, given, show
from .values import CfgDict

__all__ = ["map_environment", "map_run_options"]


def map_environment(m: Mapping, root: Root) -> None:
    value = root.get("env_cfg")
    if value not in (MISSING, None):
        sec = m.section(value, "env_cfg", root.where("env_cfg"))
        if sec is not None:
            env = _env(m, sec)
            if env is not None and env.model_fields_set:
                root.put("env", env)
    value = root.get("randomness")
    if value not in (MISSING, None):
        sec = m.section(value, "randomness", root.where("randomness"))
        if sec is not None:
            seed = sec.take("seed")
            kwargs = given(
                deterministic=sec.take_bool("deterministic"),
                diff_rank_seed=sec.take_bool("diff_rank_seed"),
            )
            if seed is None or (isinstance(seed, int) and not isinstance(seed, bool)):
                kwargs["seed"] = seed
            elif seed is not MISSING:
                m.expect(seed, "randomness.seed", sec.where("seed"), "an integer or None")
            sec.finish()
            built = m.build(RandomnessConfig, kwargs, sec)
            if built is not None and built.model_fields_set:
                root.put("randomness", built)
    _model_wrapper(m, root)


def _env(m: Mapping, sec: Section) -> BaseModel | None:
    kwargs = given(cudnn_benchmark=sec.take_bool("cudnn_benchmark"))
    mp = sec.take_section("mp_cfg")
    if mp is not None:
        method = mp.take_str("mp_start_method")
        if method is not MISSING:
            kwargs["mp_start_method"] = method
        mp.finish("typedengine sets the start method only (no OpenCV thread setting)")
    dist = sec.take_section("dist_cfg")
    if dist is not None:
        dist_kwargs = given(backend=dist.take_str("backend"), timeout_s=dist.take_float("timeout"))
        dist.finish("typedengine's DistConfig has backend and timeout (MASTER_PORT sets the port)")
        built_dist = m.build(DistConfig, dist_kwargs, dist, keys={"timeout_s": "timeout"})
        if built_dist is not None and built_dist.model_fields_set:
            kwargs["dist"] = built_dist
    if sec.has("resource_limit"):
        m.not_migrated(sec.where("resource_limit"), "env_cfg.resource_limit",
                            f"= {show(sec.take('resource_limit'))}: typedengine does not raise RLIMIT_NOFILE")  # fmt: skip
    sec.finish()
    return m.build(EnvConfig, kwargs, sec, keys={"dist": "dist_cfg", "mp_start_method": "mp_cfg"})


def _model_wrapper(m: Mapping, root: Root) -> None:
    kwargs: dict[str, object] = {}
    comments: list[str] = []
    wrapper = root.get("model_wrapper_cfg")
    if wrapper not in (MISSING, None):
        sec = m.section(wrapper, "model_wrapper_cfg", root.where("model_wrapper_cfg"))
        if sec is None:
            return
        kind = sec.take_type()
        if kind not in ("MMDistributedDataParallel", "DistributedDataParallel"):
            sec.skip(*[str(k) for k in sec.data])
            m.not_migrated(sec.where("type"), "model_wrapper_cfg",
                                f"{show(wrapper)}: typedengine wraps with DDP or FSDP2 (model_wrapper=te.FSDPConfig)")  # fmt: skip
            return
        kwargs.update(given(find_unused_parameters=sec.take_bool("find_unused_parameters"),
                            broadcast_buffers=sec.take_bool("broadcast_buffers"),
                            static_graph=sec.take_bool("static_graph"),
                            gradient_as_bucket_view=sec.take_bool("gradient_as_bucket_view")))  # fmt: skip
        if sec.has("detect_anomalous_params") and sec.data["detect_anomalous_params"] is False:
            m.default(
                sec.where("detect_anomalous_params"), "model_wrapper_cfg.detect_anomalous_params", False
            )
            sec.take("detect_anomalous_params")
        sec.finish()
    else:
        kwargs["broadcast_buffers"] = False
        comments.append("# MMEngine's Runner wraps with DDP(broadcast_buffers=False) when distributed")
        unused = root.get("find_unused_parameters")
        if isinstance(unused, bool):
            kwargs["find_unused_parameters"] = unused
        elif unused is not MISSING:
            m.expect(unused, "find_unused_parameters", root.where("find_unused_parameters"), "True or False")
    sync_bn = root.get("sync_bn")
    if sync_bn == "torch":
        kwargs["sync_bn"] = True
    elif sync_bn not in (MISSING, None):
        m.not_migrated(
            root.where("sync_bn"),
            "sync_bn",
            f"= {show(sync_bn)}: typedengine converts to torch's SyncBatchNorm ('torch')",
        )
    built = m.build(DDPConfig, kwargs, None, path="model_wrapper_cfg", where=root.where("model_wrapper_cfg"))
    if built is not None and built.model_fields_set:
        root.put("model_wrapper", built, *comments)


# --- the rest of the Runner keys ---------------------------------------------------------------
def map_run_options(m: Mapping, root: Root) -> None:
    load_from, resume = root.get("load_from"), root.get("resume")
    if load_from not in (MISSING, None) and not isinstance(load_from, str):
        m.expect(load_from, "load_from", root.where("load_from"), "a path")
        load_from = MISSING
    if isinstance(load_from, str) and "://" in load_from:
        m.not_migrated(root.where("load_from"), "load_from",
                            f"= {load_from!r}: typedengine loads local files; download it and give the path")  # fmt: skip
        load_from = MISSING
    if resume not in (MISSING, None) and not isinstance(resume, bool):
        m.expect(resume, "resume", root.where("resume"), "True or False")
        resume = MISSING
    if resume is True and isinstance(load_from, str):
        root.put("resume", Path(load_from), "# MMEngine: resume=True with load_from resumes from that file")
    elif resume is True:
        root.put("resume", True)
    elif isinstance(load_from, str):
        root.put("load_from", Path(load_from))
    for key, value in (("load_from", load_from), ("resume", resume)):
        if value in (None, False):
            m.default(root.where(key), key, value)
    launcher = root.get("launcher")
    if launcher in ("pytorch", "slurm"):
        root.put("launcher", launcher)
    elif launcher == "none":
        m.default(root.where("launcher"), "launcher", launcher)
    elif launcher is not MISSING:
        m.not_migrated(
            root.where("launcher"),
            "launcher",
            f"= {show(launcher)}: typedengine launches none, pytorch, slurm or auto",
        )
    level = root.get("log_level")
    if isinstance(level, str) and level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"):
        if level.upper() == "INFO":
            m.default(root.where("log_level"), "log_level", level)
        else:
            root.put("log_level", level.upper())
    elif level is not MISSING:
        m.not_migrated(
            root.where("log_level"),
            "log_level",
            f"= {show(level)}: typedengine has DEBUG, INFO, WARNING, ERROR",
        )
    compiled = root.get("compile")
    if compiled is True:
        root.put("compile", CompileConfig())
    elif isinstance(compiled, CfgDict):
        sec = Section(m, compiled, "compile")
        kwargs = given(disable=sec.take_bool("disable"), backend=sec.take_str("backend"), mode=sec.take_str("mode"),
                       fullgraph=sec.take_bool("fullgraph"), dynamic=sec.take("dynamic"))  # fmt: skip
        sec.finish()
        built = m.build(CompileConfig, kwargs, sec)
        if built is not None:
            root.put("compile", built)
    elif compiled is False:
        m.default(root.where("compile"), "compile", False)
    elif compiled is not MISSING:
        m.expect(compiled, "compile", root.where("compile"), "True, False or a dict")
