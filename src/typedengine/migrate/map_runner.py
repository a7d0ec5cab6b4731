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

from ..loops.iter_based import IterBasedTrainLoopConfig
from .experiment import Experiment, RootField
from .map_common import MISSING, Mapping, Root, show, type_name
from .map_data import DataMapping, map_model, map_preprocessor, opaque_inside
from .map_env import map_environment, map_run_options
from .map_hooks import map_custom_hooks, map_default_hooks, map_log_processor, map_visualizer
from .map_loops import map_eval_loop, map_train
from .map_optim import map_auto_scale_lr, map_optim_wrapper
from .map_schedulers import map_param_schedulers
from .read import BASE_KEY, ConfigTree
from .values import CfgDict, Location, Opaque, Symbol

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
        self.root = Root(tree.cfg)
        self.root.taken.add(BASE_KEY)
        self.get, self.where, self.put, self.present = (
            self.root.get,
            self.root.where,
            self.root.put,
            self.root.present,
        )

    # --- the whole config --------------------------------------------------------------------------
    def run(self) -> None:
        self.check_triples()
        self.model()
        self.work_dir()
        map_train(self.m, self.root, self.data)
        map_eval_loop(self.m, self.root, "val")
        map_eval_loop(self.m, self.root, "test")
        self.optim()
        self.hooks()
        map_environment(self.m, self.root)
        map_run_options(self.m, self.root)
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
            self.put(
                "work_dir",
                default,
                "# tools/train.py's default for this config (the config sets no work_dir)",
            )
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
        value = self.get("default_hooks")
        iter_based = isinstance(self.root.values.get("train"), IterBasedTrainLoopConfig)
        if value in (MISSING, None):  # MMEngine's defaults (they matter for an iteration-based loop)
            value = CfgDict(
                self.where("default_hooks") if "default_hooks" in self.cfg else Location(self.tree.main, 1)
            )
        node, extra = map_default_hooks(self.m, value, self.where("default_hooks"), iter_based=iter_based)
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
    def rest(self) -> None:
        """Keys no Runner argument reads: specific messages, helper variables, keys that do nothing."""
        for key in [str(k) for k in self.cfg]:
            if key in self.root.taken:
                continue
            value = self.cfg[key]
            where = self.where(key)
            if isinstance(value, Symbol) or key.startswith("__"):
                continue  # an import, or a name MMEngine leaves out of the config too
            if key in _NO_EQUIVALENT:
                self.m.not_migrated(where, key, f"= {show(value)}: {_NO_EQUIVALENT[key]}")
            elif where in self.tree.consumed:
                continue  # a helper variable another key used (its value is in that key)
            elif key in _LEGACY:
                self.m.not_migrated(
                    where, key, f"= {show(value)}: an MMCV 1.x key; MMEngine's Runner ignores it too"
                )
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
            if name in self.root.values:
                root = self.root
                self.m.exp.fields.append(
                    RootField(name, root.values[name], root.comments.get(name, []), root.args.get(name, ()))
                )
        for sub in self.tree.substitutions:
            origin = "the environment" if sub.from_environment else "its default"
            self.m.translated(sub.where, sub.text, f"-> {sub.value!r} from {origin}, at migration time (MMEngine "
                              "substitutes it at every run)")  # fmt: skip
