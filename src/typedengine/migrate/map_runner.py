"""Map a read MMEngine config tree to an :class:`~.experiment.Experiment`: the Runner-level keys one by one.

Each top-level key MMEngine's ``Runner.from_cfg`` reads (and the hidden ones it reads from ``cfg``:
``find_unused_parameters``, ``sync_bn``, ``model_wrapper_cfg``, ``compile``) is translated to the
typedengine field that means the same, or listed. Other top-level keys are helper variables: used by
another key (already inlined there) or, if nothing reads them, listed as having no effect — in MMEngine
as well (a classic: overriding ``train_pipeline`` in a child config after the base's dataset used it).

Where the two differ in meaning the *meaning* is translated: a ``dynamic_intervals`` milestone moves one
step (MMEngine applies it one epoch early), ``resume=True`` with ``load_from`` becomes ``resume=PATH``,
a missing ``collate_fn`` becomes ``collate="pseudo"``, MMEngine's DDP wrapper default
(``broadcast_buffers=False``) is written out.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..distributed.process_group import DistConfig
from ..loops.epoch_based import EpochBasedTrainLoopConfig
from ..loops.evaluation import TestLoopConfig, ValLoopConfig
from ..loops.iter_based import IterBasedTrainLoopConfig
from ..model.wrapping import DDPConfig
from ..runner.compile import CompileConfig
from ..runner.env import EnvConfig
from ..runner.randomness import RandomnessConfig
from .experiment import Experiment, Node, RootField
from .map_common import MISSING, Mapping, Section, given, show, type_name
from .map_data import DataMapping, map_dataloader, map_evaluator, map_model, map_preprocessor, opaque_inside
from .map_hooks import map_custom_hooks, map_default_hooks, map_log_processor, map_visualizer
from .map_optim import map_auto_scale_lr, map_optim_wrapper, map_param_schedulers
from .read import BASE_KEY, ConfigTree
from .values import CfgDict, Location, Opaque, Symbol, Value

__all__ = ["map_config"]

_LEGACY = frozenset({
    "optimizer", "optimizer_config", "lr_config", "momentum_config", "runner", "checkpoint_config",
    "log_config", "evaluation", "workflow", "dist_params", "gpu_ids", "data", "fp16", "total_epochs",
})  # fmt: skip
"""MMCV 1.x (OpenMMLab 1.x) keys: MMEngine's Runner ignores them."""

_NO_EQUIVALENT = {
    "default_scope": "typedengine has no registries: types are config classes (the model, datasets and metrics "
    "below are placeholders to fill in)",
    "custom_imports": "typedengine imports nothing by name; import your modules in the experiment file",
    "activation_checkpointing": "typedengine has no activation-checkpointing switch; wrap the submodules in "
    "your model (torch.utils.checkpoint)",
    "efficient_conv_bn_eval": "typedengine has no conv-bn fusion switch",
    "runner_type": "typedengine has one Runner; subclass te.Runner in the experiment file if you need another",
    "tta_model": "test-time augmentation is part of the model in typedengine",
    "tta_pipeline": "test-time augmentation is part of the dataset in typedengine",
}


def map_config(tree: ConfigTree) -> Experiment:
    """The experiment for ``tree``; problems that block writing are in ``experiment.problems``."""
    exp = Experiment(source=tree.main, files=list(tree.files))
    _RunnerMapping(Mapping(exp), tree).run()
    return exp


class _RunnerMapping:
    def __init__(self, m: Mapping, tree: ConfigTree) -> None:
        self.m = m
        self.tree = tree
        self.cfg = tree.cfg
        self.data = DataMapping(m)
        self.taken: set[str] = {BASE_KEY}
        self.values: dict[str, Node] = {}
        self.comments: dict[str, list[str]] = {}
        self.args: dict[str, tuple[str, ...]] = {}

    # --- access -------------------------------------------------------------------------------------
    def get(self, key: str) -> Value:
        self.taken.add(key)
        return self.cfg.get(key, MISSING)

    def where(self, key: str) -> Location:
        return self.cfg.where_of(key)

    def put(self, field: str, value: Node, *comments: str, args: tuple[str, ...] = ()) -> None:
        self.values[field] = value
        self.comments.setdefault(field, []).extend(comments)
        if args:
            self.args[field] = args

    def present(self, key: str) -> bool:
        return key in self.cfg and self.cfg[key] is not None

    # --- the whole config --------------------------------------------------------------------------
    def run(self) -> None:
        self.check_triples()
        self.model()
        self.work_dir()
        self.train()
        self.loop("val")
        self.loop("test")
        self.optim()
        self.hooks()
        self.environment()
        self.misc()
        self.rest()
        self.emit()

    def check_triples(self) -> None:
        """MMEngine's all-or-none rules (its Runner raises ValueError otherwise)."""
        for what, keys in (
            ("training", ("train_dataloader", "train_cfg", "optim_wrapper")),
            ("validation", ("val_dataloader", "val_cfg", "val_evaluator")),
            ("testing", ("test_dataloader", "test_cfg", "test_evaluator")),
        ):
            given_keys = [k for k in keys if self.present(k)]
            if given_keys and len(given_keys) != len(keys):
                missing = [k for k in keys if k not in given_keys]
                self.m.problem(self.where(given_keys[0]), given_keys[0],
                               f"{what} needs {', '.join(keys)} together; {', '.join(missing)} missing "
                               "(MMEngine's Runner refuses this config too)")  # fmt: skip

    def model(self) -> None:
        value = self.get("model")
        if value is MISSING:
            self.m.problem(Location(self.tree.main, 1), "model", "the config has no model (Runner needs one)")
            return
        ref, preprocessor = map_model(self.m, value, self.where("model"), self.data)
        self.put("model", ref, args=(ref.stub.class_name,))
        top = self.get("data_preprocessor")
        if top is not MISSING and top is not None and preprocessor is None:
            if type_name(top) in ("ImgDataPreprocessor", "BaseDataPreprocessor"):
                preprocessor = top
            else:  # MMEngine hands it to the model (setdefault): it belongs in the model's TODO
                if isinstance(value, CfgDict) and "data_preprocessor" not in value:
                    merged = value.shallow_copy()
                    merged.set("data_preprocessor", top, self.where("data_preprocessor"))
                    ref.stub.original = merged
                self.m.translated(self.where("data_preprocessor"), "data_preprocessor",
                                  "handed to the model, as MMEngine does: it is in the model's TODO")  # fmt: skip
        if preprocessor is not None:
            where = preprocessor.origin if isinstance(preprocessor, CfgDict) else self.where("model")
            node = map_preprocessor(self.m, preprocessor, "data_preprocessor", where)
            if node is not None:
                self.put("data_preprocessor", node)

    def work_dir(self) -> None:
        value = self.get("work_dir")
        if value is MISSING or value is None:
            default = Path("work_dirs") / self.tree.main.stem
            self.put("work_dir", default, "# tools/train.py's default for this config (the config sets no work_dir)")
        elif isinstance(value, str):
            self.put("work_dir", Path(value))
        else:
            self.m.expect(value, "work_dir", self.where("work_dir"), "a path")
        name = self.get("experiment_name")
        if isinstance(name, str):
            self.put("experiment_name", name)
        elif name not in (MISSING, None):
            self.m.expect(name, "experiment_name", self.where("experiment_name"), "a string")

    # --- loops and data ----------------------------------------------------------------------------
    def train(self) -> None:
        raw = self.get("train_cfg")
        iter_based = False
        if raw not in (MISSING, None):
            sec = self.m.section(raw, "train_cfg", self.where("train_cfg"))
            if sec is not None:
                loop = self.train_loop(sec)
                if loop is not None:
                    iter_based = isinstance(loop, IterBasedTrainLoopConfig)
                    self.put("train", loop)
        for role in ("train", "val", "test"):
            key = f"{role}_dataloader"
            value = self.get(key)
            if value in (MISSING, None):
                continue
            found = map_dataloader(self.m, value, key, self.where(key), self.data, role.capitalize(),
                                   iter_based and role == "train")  # fmt: skip
            if found is not None:
                node, stub = found
                self.put(key, node, args=(stub.class_name,))
        for role in ("val", "test"):
            key = f"{role}_evaluator"
            value = self.get(key)
            if value in (MISSING, None):
                continue
            found_eval = map_evaluator(self.m, value, key, self.where(key), self.data)
            if found_eval is not None:
                self.put(key, found_eval[0], args=found_eval[1])

    def train_loop(self, sec: Section) -> BaseModel | None:
        kind = sec.take_type()
        by_epoch = sec.take_bool("by_epoch")
        if kind is not None and by_epoch is not MISSING:
            self.m.problem(sec.where(), "train_cfg", "gives both `type` and `by_epoch` (MMEngine's Runner refuses that)")
            return None
        if kind is None and by_epoch is MISSING:
            self.m.problem(sec.where(), "train_cfg", "needs `type` or `by_epoch` (MMEngine stops with a KeyError)")
            return None
        if kind is not None and kind not in ("EpochBasedTrainLoop", "IterBasedTrainLoop"):
            self.m.problem(sec.where("type"), "train_cfg.type",
                           f"{kind!r}: typedengine has EpochBasedTrainLoop and IterBasedTrainLoop; for your own loop "
                           "subclass te.BaseTrainLoopConfig (see typedengine/loops/choices.py)")  # fmt: skip
            return None
        epochs = kind == "EpochBasedTrainLoop" or by_epoch is True
        length_key = "max_epochs" if epochs else "max_iters"
        length = sec.take_int(length_key)
        if length is MISSING:
            if not sec.has(length_key):
                self.m.problem(sec.where(), f"train_cfg.{length_key}", "is required (MMEngine stops with a TypeError)")
            return None
        val_interval = sec.take_int("val_interval")
        kwargs = given(val_begin=sec.take_int("val_begin"), val_interval=val_interval)
        dynamic = self.dynamic_intervals(sec)
        if dynamic is not None:
            pairs, base_interval = dynamic
            kwargs["dynamic_intervals"] = pairs
            if base_interval is not None:
                kwargs["val_interval"] = base_interval
        kwargs[length_key] = length
        sec.finish()
        cls: type[BaseModel] = EpochBasedTrainLoopConfig if epochs else IterBasedTrainLoopConfig
        return self.m.build(cls, kwargs, sec, keep=frozenset({length_key}))

    def dynamic_intervals(self, sec: Section) -> tuple[tuple[tuple[int, int], ...], int | None] | None:
        """MMEngine switches to interval k after milestone m - 1; typedengine's pairs say where they apply.

        Returns the pairs and, for a milestone <= 1 (in force from the start), the new base interval.
        """
        raw = sec.take("dynamic_intervals")
        if raw is MISSING or raw is None:
            return None
        pairs: list[tuple[int, int]] = []
        base: int | None = None
        items = raw if isinstance(raw, (list, tuple)) else None
        for item in items or [raw]:
            milestone = item[0] if isinstance(item, (list, tuple)) and len(item) == 2 else None
            interval = item[1] if isinstance(item, (list, tuple)) and len(item) == 2 else None
            if not (isinstance(milestone, int) and isinstance(interval, int)):
                self.m.expect(item, "train_cfg.dynamic_intervals", sec.where("dynamic_intervals"),
                              "a list of (milestone, interval) pairs")  # fmt: skip
                return None
            if milestone - 1 < 1:
                base = interval  # in force from the start
            else:
                pairs.append((milestone - 1, interval))
        shown = ", ".join(f"({a}, {b})" for a, b in pairs) or "none"
        self.m.translated(sec.where("dynamic_intervals"), "train_cfg.dynamic_intervals",
                          f"{show(raw)} -> ({shown}){'' if base is None else f', val_interval={base}'}: MMEngine applies "
                          "each switch one epoch/iteration before its milestone; typedengine's pairs say where it "
                          "applies, so the validation points are MMEngine's")  # fmt: skip
        return tuple(pairs), base

    def loop(self, role: str) -> None:
        key = f"{role}_cfg"
        raw = self.get(key)
        if raw in (MISSING, None):
            return
        sec = self.m.section(raw, key, self.where(key))
        if sec is None:
            return
        kind = sec.take_type()
        expected = "ValLoop" if role == "val" else "TestLoop"
        if kind not in (None, expected):
            sec.skip(*[str(k) for k in sec.data])
            self.m.not_migrated(sec.where("type"), f"{key}.type",
                                f"= {kind!r}: typedengine runs its own {expected}; a custom loop is not migrated")  # fmt: skip
            return
        fp16 = sec.take_bool("fp16")
        sec.finish()
        kwargs: dict[str, object] = {} if fp16 is MISSING else {"autocast": "fp16" if fp16 else "off"}
        cls: type[BaseModel] = ValLoopConfig if role == "val" else TestLoopConfig
        built = self.m.build(cls, kwargs, sec, keys={"autocast": "fp16"})
        if built is not None and built.model_fields_set:
            self.put(role, built)
        elif built is not None and not kwargs:
            self.m.default(sec.where(), key, raw)

    # --- optimization and hooks --------------------------------------------------------------------
    def optim(self) -> None:
        value = self.get("optim_wrapper")
        if value not in (MISSING, None):
            node = map_optim_wrapper(self.m, value, self.where("optim_wrapper"))
            if node is not None:
                self.put("optim_wrapper", node)
        value = self.get("param_scheduler")
        if value not in (MISSING, None):
            schedulers = map_param_schedulers(self.m, value, self.where("param_scheduler"))
            if schedulers:
                self.put("param_scheduler", schedulers)
        value = self.get("auto_scale_lr")
        if value not in (MISSING, None):
            node = map_auto_scale_lr(self.m, value, self.where("auto_scale_lr"))
            if node is not None:
                self.put("auto_scale_lr", node)

    def hooks(self) -> None:
        extra: list[BaseModel] = []
        value = self.get("default_hooks")
        if value not in (MISSING, None):
            node, extra = map_default_hooks(self.m, value, self.where("default_hooks"))
            if node is not None:
                self.put("default_hooks", node)
        value = self.get("custom_hooks")
        if value not in (MISSING, None):
            extra.extend(map_custom_hooks(self.m, value, self.where("custom_hooks")))
        if extra:
            self.put("custom_hooks", tuple(extra))
        for key, mapper in (("log_processor", map_log_processor), ("visualizer", map_visualizer)):
            value = self.get(key)
            if value not in (MISSING, None):
                node = mapper(self.m, value, self.where(key))
                if node is not None:
                    self.put(key, node)

    # --- environment -------------------------------------------------------------------------------
    def environment(self) -> None:
        value = self.get("env_cfg")
        if value not in (MISSING, None):
            sec = self.m.section(value, "env_cfg", self.where("env_cfg"))
            if sec is not None:
                env = self.env(sec)
                if env is not None and env.model_fields_set:
                    self.put("env", env)
        value = self.get("randomness")
        if value not in (MISSING, None):
            sec = self.m.section(value, "randomness", self.where("randomness"))
            if sec is not None:
                seed = sec.take("seed")
                kwargs = given(deterministic=sec.take_bool("deterministic"), diff_rank_seed=sec.take_bool("diff_rank_seed"))
                if seed is None or (isinstance(seed, int) and not isinstance(seed, bool)):
                    kwargs["seed"] = seed
                elif seed is not MISSING:
                    self.m.expect(seed, "randomness.seed", sec.where("seed"), "an integer or None")
                sec.finish()
                built = self.m.build(RandomnessConfig, kwargs, sec)
                if built is not None and built.model_fields_set:
                    self.put("randomness", built)
        self.model_wrapper()

    def env(self, sec: Section) -> BaseModel | None:
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
            built_dist = self.m.build(DistConfig, dist_kwargs, dist, keys={"timeout_s": "timeout"})
            if built_dist is not None and built_dist.model_fields_set:
                kwargs["dist"] = built_dist
        if sec.has("resource_limit"):
            self.m.not_migrated(sec.where("resource_limit"), "env_cfg.resource_limit",
                                f"= {show(sec.take('resource_limit'))}: typedengine does not raise RLIMIT_NOFILE")  # fmt: skip
        sec.finish()
        return self.m.build(EnvConfig, kwargs, sec, keys={"dist": "dist_cfg", "mp_start_method": "mp_cfg"})

    def model_wrapper(self) -> None:
        kwargs: dict[str, object] = {}
        comments: list[str] = []
        wrapper = self.get("model_wrapper_cfg")
        if wrapper not in (MISSING, None):
            sec = self.m.section(wrapper, "model_wrapper_cfg", self.where("model_wrapper_cfg"))
            if sec is None:
                return
            kind = sec.take_type()
            if kind not in ("MMDistributedDataParallel", "DistributedDataParallel"):
                sec.skip(*[str(k) for k in sec.data])
                self.m.not_migrated(sec.where("type"), "model_wrapper_cfg",
                                    f"{show(wrapper)}: typedengine wraps with DDP or FSDP2 (model_wrapper=te.FSDPConfig)")  # fmt: skip
                return
            kwargs.update(given(find_unused_parameters=sec.take_bool("find_unused_parameters"),
                                broadcast_buffers=sec.take_bool("broadcast_buffers"),
                                static_graph=sec.take_bool("static_graph"),
                                gradient_as_bucket_view=sec.take_bool("gradient_as_bucket_view")))  # fmt: skip
            if sec.has("detect_anomalous_params") and sec.data["detect_anomalous_params"] is False:
                self.m.default(sec.where("detect_anomalous_params"), "model_wrapper_cfg.detect_anomalous_params", False)
                sec.take("detect_anomalous_params")
            sec.finish()
        else:
            kwargs["broadcast_buffers"] = False
            comments.append("# MMEngine's Runner wraps with DDP(broadcast_buffers=False) when distributed")
            unused = self.get("find_unused_parameters")
            if isinstance(unused, bool):
                kwargs["find_unused_parameters"] = unused
            elif unused is not MISSING:
                self.m.expect(unused, "find_unused_parameters", self.where("find_unused_parameters"), "True or False")
        sync_bn = self.get("sync_bn")
        if sync_bn == "torch":
            kwargs["sync_bn"] = True
        elif sync_bn not in (MISSING, None):
            self.m.not_migrated(self.where("sync_bn"), "sync_bn", f"= {show(sync_bn)}: typedengine converts to torch's SyncBatchNorm ('torch')")
        built = self.m.build(DDPConfig, kwargs, None, path="model_wrapper_cfg", where=self.where("model_wrapper_cfg"))
        if built is not None and built.model_fields_set:
            self.put("model_wrapper", built, *comments)

    # --- the rest of the Runner keys ---------------------------------------------------------------
    def misc(self) -> None:
        load_from, resume = self.get("load_from"), self.get("resume")
        if load_from not in (MISSING, None) and not isinstance(load_from, str):
            self.m.expect(load_from, "load_from", self.where("load_from"), "a path")
            load_from = MISSING
        if isinstance(load_from, str) and "://" in load_from:
            self.m.not_migrated(self.where("load_from"), "load_from",
                                f"= {load_from!r}: typedengine loads local files; download it and give the path")  # fmt: skip
            load_from = MISSING
        if resume not in (MISSING, None) and not isinstance(resume, bool):
            self.m.expect(resume, "resume", self.where("resume"), "True or False")
            resume = MISSING
        if resume is True and isinstance(load_from, str):
            self.put("resume", Path(load_from), "# MMEngine: resume=True with load_from resumes from that file")
        elif resume is True:
            self.put("resume", True)
        elif isinstance(load_from, str):
            self.put("load_from", Path(load_from))
        for key, value in (("load_from", load_from), ("resume", resume)):
            if value in (None, False):
                self.m.default(self.where(key), key, value)
        launcher = self.get("launcher")
        if launcher in ("pytorch", "slurm"):
            self.put("launcher", launcher)
        elif launcher == "none":
            self.m.default(self.where("launcher"), "launcher", launcher)
        elif launcher is not MISSING:
            self.m.not_migrated(self.where("launcher"), "launcher", f"= {show(launcher)}: typedengine launches none, pytorch, slurm or auto")
        level = self.get("log_level")
        if isinstance(level, str) and level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"):
            if level.upper() == "INFO":
                self.m.default(self.where("log_level"), "log_level", level)
            else:
                self.put("log_level", level.upper())
        elif level is not MISSING:
            self.m.not_migrated(self.where("log_level"), "log_level", f"= {show(level)}: typedengine has DEBUG, INFO, WARNING, ERROR")
        compiled = self.get("compile")
        if compiled is True:
            self.put("compile", CompileConfig())
        elif isinstance(compiled, CfgDict):
            sec = Section(self.m, compiled, "compile")
            kwargs = given(disable=sec.take_bool("disable"), backend=sec.take_str("backend"), mode=sec.take_str("mode"),
                           fullgraph=sec.take_bool("fullgraph"), dynamic=sec.take("dynamic"))  # fmt: skip
            sec.finish()
            built = self.m.build(CompileConfig, kwargs, sec)
            if built is not None:
                self.put("compile", built)
        elif compiled is False:
            self.m.default(self.where("compile"), "compile", False)
        elif compiled is not MISSING:
            self.m.expect(compiled, "compile", self.where("compile"), "True, False or a dict")

    def rest(self) -> None:
        """Keys no Runner argument reads: specific messages, helper variables, keys that do nothing."""
        for key in [str(k) for k in self.cfg]:
            if key in self.taken:
                continue
            value = self.cfg[key]
            where = self.where(key)
            if isinstance(value, Symbol) or key.startswith("__"):
                continue  # an import, or a name MMEngine leaves out of the config too
            if key in _NO_EQUIVALENT:
                self.m.not_migrated(where, key, f"= {show(value)}: {_NO_EQUIVALENT[key]}")
            elif key in _LEGACY:
                self.m.not_migrated(where, key, f"= {show(value)}: an MMCV 1.x key; MMEngine's Runner ignores it too")
            elif where in self.tree.consumed:
                continue  # a helper variable another key used (its value is in that key)
            elif isinstance(value, Opaque):
                self.m.not_migrated(where, key, f"`{value.source}` is not evaluated ({value.reason}) and is not a "
                                    "Runner key")  # fmt: skip
            else:
                self.m.not_migrated(where, key, f"= {show(value)}: not a Runner key and nothing uses it, so it has no "
                                    "effect in MMEngine either")  # fmt: skip
        for opaque in self.placeholder_opaques():
            self.m.translated(opaque.where, "(placeholder)",
                              f"`{opaque.source}` was not evaluated ({opaque.reason}); it is kept as written in a TODO")  # fmt: skip

    def placeholder_opaques(self) -> list[Opaque]:
        seen: set[Location] = set()
        out: list[Opaque] = []
        for stub in self.m.exp.stubs:
            for opaque in opaque_inside(stub.original):
                if opaque.where not in seen:
                    seen.add(opaque.where)
                    out.append(opaque)
        return out

    def emit(self) -> None:
        from ..runner.config import RunnerConfig

        for name in RunnerConfig.model_fields:
            if name in self.values:
                self.m.exp.fields.append(
                    RootField(name, self.values[name], self.comments.get(name, []), self.args.get(name, ()))
                )
        for sub in self.tree.substitutions:
            origin = "the environment" if sub.from_environment else "its default"
            self.m.translated(sub.where, sub.text, f"-> {sub.value!r} from {origin}, at migration time (MMEngine "
                              "substitutes it at every run)")  # fmt: skip

