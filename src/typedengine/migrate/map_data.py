"""Map the data side: dataloaders, the registry types typedengine cannot know (the user's model, datasets,
metrics) as placeholder classes, evaluators, and the data preprocessor.

A placeholder is a config class the written file declares (``TrainDatasetConfig(te.DatasetConfig)``) with a
``build()`` that raises ``NotImplementedError`` and a TODO comment holding the original MMEngine dict.
Dataset placeholders declare their length when the MMEngine config makes it knowable (a public dataset's
split, ``indices=N``, ``RepeatDataset`` / ``ConcatDataset`` of known parts), so ``--plan`` counts
iterations; otherwise ``declared_length()`` returns None with a TODO to fill in the number.
"""

from __future__ import annotations

import re

from ..data.dataloader import DataLoaderConfig
from ..data.dataset import DatasetConfig
from ..evaluation.evaluator import EvaluatorConfig
from ..evaluation.metric import MetricConfig
from ..model.preprocessor import BaseDataPreprocessorConfig, ImgDataPreprocessorConfig
from .experiment import ConfigNode, Node, Stub, StubKind, StubRef
from .map_common import MISSING, Mapping, Section, float_tuple, given, type_name
from .values import CfgDict, Location, Opaque, Value

__all__ = ["dataset_length", "map_dataloader", "map_evaluator", "map_model", "map_preprocessor"]

# (type, split) -> samples; the split is read from `split=`, `test_mode=` or the annotation/image paths
_KNOWN_LENGTHS: dict[str, dict[str, int]] = {
    "CIFAR10": {"train": 50_000, "test": 10_000},
    "CIFAR100": {"train": 50_000, "test": 10_000},
    "MNIST": {"train": 60_000, "test": 10_000},
    "FashionMNIST": {"train": 60_000, "test": 10_000},
    "ImageNet": {"train": 1_281_167, "val": 50_000},
    "ADE20KDataset": {"train": 20_210, "val": 2_000},
    "CityscapesDataset": {"train": 2_975, "val": 500},
}
_SPLIT_WORDS = {"train": "train", "training": "train", "val": "val", "validation": "val", "test": "test"}


def dataset_length(value: Value) -> tuple[int | None, str]:
    """Samples of an MMEngine dataset dict when knowable from the config, and how it was found."""
    if not isinstance(value, CfgDict):
        return None, ""
    kind = type_name(value)
    if kind == "RepeatDataset":
        inner, how = dataset_length(value.get("dataset"))
        times = value.get("times")
        if inner is not None and isinstance(times, int):
            return inner * times, f"{times} x ({how})"
        return None, ""
    if kind == "ConcatDataset":
        parts = value.get("datasets")
        if not isinstance(parts, (list, tuple)) or not parts:
            return None, ""
        found = [dataset_length(p) for p in parts]
        if any(n is None for n, _ in found):
            return None, ""
        return sum(n for n, _ in found if n is not None), " + ".join(f"({how})" for _, how in found)
    indices = value.get("indices")
    if isinstance(indices, int) and not isinstance(indices, bool):
        return indices, f"indices={indices}: the first {indices} samples"
    if isinstance(indices, (list, tuple)):
        return len(indices), f"indices: a list of {len(indices)} samples"
    table = _KNOWN_LENGTHS.get(kind or "")
    split = _split_of(value)
    if table is None or split is None:
        return None, ""
    if split == "test" and "test" not in table:
        split = "val"
    if split == "val" and "val" not in table:
        split = "test"
    n = table.get(split)
    return (n, f"{kind} '{split}' split: {n} samples") if n is not None else (None, "")


def _split_of(value: CfgDict) -> str | None:
    split = value.get("split")
    if isinstance(split, str) and split in _SPLIT_WORDS:
        return _SPLIT_WORDS[split]
    test_mode = value.get("test_mode")
    if (
        isinstance(test_mode, bool)
        and "split" not in value
        and type_name(value) in ("CIFAR10", "CIFAR100", "MNIST")
    ):
        return "test" if test_mode else "train"
    texts: list[str] = []
    for key in ("ann_file", "data_prefix"):
        item = value.get(key)
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, CfgDict):
            texts.extend(v for v in item.values() if isinstance(v, str))
    words = {w for t in texts for w in re.split(r"[^a-zA-Z]+", t) if w in _SPLIT_WORDS}
    splits = {_SPLIT_WORDS[w] for w in words}
    return splits.pop() if len(splits) == 1 else None


def _class_name(kind: str | None, suffix: str, fallback: str) -> str:
    base = re.sub(r"\W", "", kind or "")
    if not base or not base[0].isalpha():
        return fallback
    return base if base.endswith(suffix) else base + suffix


class DataMapping:
    """Placeholder classes are shared: the same dict in two places is one class (``test = val``)."""

    def __init__(self, m: Mapping) -> None:
        self.m = m

    def stub(self, kind: StubKind, name: str, original: Value, where: Location, mm_type: str) -> Stub:
        for existing in self.m.exp.stubs:
            if existing.kind == kind and existing.original == original:
                return existing
        taken = {s.class_name for s in self.m.exp.stubs}
        unique, n = name, 2
        while unique in taken:
            stem = name.removesuffix("Config")
            unique, n = f"{stem}{n}{name[len(stem) :]}", n + 1
        made = Stub(unique, kind, mm_type, original, where)
        self.m.exp.stubs.append(made)
        return made


def map_model(m: Mapping, value: Value, where: Location, data: DataMapping) -> tuple[StubRef, Value]:
    """The model placeholder; returns it and the model's ``data_preprocessor`` dict (if any) for the root."""
    preprocessor: Value = None
    original = value
    if isinstance(value, CfgDict) and isinstance(value.get("data_preprocessor"), CfgDict):
        pre = value["data_preprocessor"]
        assert isinstance(pre, CfgDict)
        if type_name(pre) in ("ImgDataPreprocessor", "BaseDataPreprocessor"):
            preprocessor = pre
            original = value.shallow_copy()
            original.remove("data_preprocessor")
    mm_type = type_name(value) or "?"
    stub = data.stub("model", _class_name(mm_type, "Config", "ModelStubConfig"), original, where, mm_type)
    return StubRef(stub), preprocessor


def map_preprocessor(m: Mapping, value: Value, key: str, where: Location) -> ConfigNode | None:
    """``ImgDataPreprocessor`` / ``BaseDataPreprocessor``; a downstream type stays with the model."""
    sec = m.section(value, key, where)
    if sec is None:
        return None
    kind = sec.take_type()
    if kind == "BaseDataPreprocessor":
        built = m.build(BaseDataPreprocessorConfig, given(non_blocking=sec.take_bool("non_blocking")), sec)
        sec.finish()
        return None if built is None else ConfigNode(built)
    if kind != "ImgDataPreprocessor":
        sec.finish(
            f"the type {kind or '(none)'} belongs to the model's package; it stays in the model's TODO"
        )
        return None
    kwargs = given(
        mean=_floats(sec, "mean"), std=_floats(sec, "std"), pad_size_divisor=sec.take_int("pad_size_divisor"),
        pad_value=sec.take_float("pad_value"), bgr_to_rgb=sec.take_bool("bgr_to_rgb"),
        rgb_to_bgr=sec.take_bool("rgb_to_bgr"), non_blocking=sec.take_bool("non_blocking"),
    )  # fmt: skip
    built_img = m.build(ImgDataPreprocessorConfig, kwargs, sec)
    sec.finish()
    return None if built_img is None else ConfigNode(built_img)


def _floats(sec: Section, key: str) -> object:
    value = sec.take(key)
    if value is MISSING or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),)
    numbers = float_tuple(tuple(value)) if isinstance(value, (list, tuple)) else None
    if numbers is not None:
        return numbers
    sec.m.expect(value, sec.key(key), sec.where(key), "a number or a list of numbers")
    return MISSING


def map_dataloader(
    m: Mapping, value: Value, key: str, where: Location, data: DataMapping, role: str, iter_based: bool
) -> tuple[ConfigNode, Stub] | None:
    """``DataLoaderConfig[<Role>DatasetConfig](...)`` and its dataset placeholder."""
    sec = m.section(value, key, where)
    if sec is None:
        return None
    dataset = sec.take("dataset")
    if dataset is MISSING:
        m.problem(sec.where(), key, "a dataloader dict needs `dataset` (MMEngine stops with a KeyError too)")
        return None
    mm_type = type_name(dataset) or "?"
    stub = data.stub("dataset", f"{role}Data", dataset, sec.where("dataset"), mm_type)
    stub.length, stub.length_note = dataset_length(dataset)
    comments: dict[str, str] = {}
    kwargs = given(
        batch_size=sec.take_int("batch_size"), num_workers=sec.take_int("num_workers"),
        persistent_workers=sec.take_bool("persistent_workers"), pin_memory=sec.take_bool("pin_memory"),
        drop_last=sec.take_bool("drop_last"), prefetch_factor=sec.take_int("prefetch_factor"),
    )  # fmt: skip
    if "batch_size" not in kwargs:
        kwargs["batch_size"] = 1
        comments["batch_size"] = "torch's DataLoader default (the MMEngine dict has no batch_size)"
    if kwargs.get("persistent_workers") is True and kwargs.get("num_workers", 0) == 0:
        m.not_migrated(sec.where("persistent_workers"), sec.key("persistent_workers"),
                       "= True with num_workers=0: torch's DataLoader refuses this combination")  # fmt: skip
        del kwargs["persistent_workers"]
    shuffle = _sampler(m, sec, iter_based)
    if shuffle is not MISSING:
        kwargs["shuffle"] = shuffle
    collate = _collate(m, sec)
    if collate is not None:
        kwargs["collate"] = collate
        if collate == "pseudo" and not sec.has("collate_fn"):
            comments["collate"] = "MMEngine's default collate_fn: pseudo_collate (lists, not stacked)"
    built = m.build(DataLoaderConfig[DatasetConfig], {"dataset": DatasetConfig(), **kwargs}, sec,
                    keep=frozenset({"batch_size", "dataset"}))  # fmt: skip
    sec.finish()
    if built is None:
        return None
    return ConfigNode(
        built, type_args=(stub.class_name,), overrides={"dataset": StubRef(stub)}, comments=comments
    ), stub


def _sampler(m: Mapping, sec: Section, iter_based: bool) -> object:
    sampler = sec.take_section("sampler")
    if sampler is None:
        if not sec.has("sampler"):
            m.problem(
                sec.where(),
                sec.path,
                "a dataloader dict needs `sampler` (MMEngine stops with a KeyError too)",
            )
        return MISSING
    kind = sampler.take_type()
    if kind not in ("DefaultSampler", "InfiniteSampler"):
        sampler.finish(f"sampler type {kind}: typedengine uses its DefaultSampler / InfiniteSampler")
        return MISSING
    if kind == "InfiniteSampler" and not iter_based:
        m.not_migrated(sampler.where("type"), sampler.key("type"),
                       "= 'InfiniteSampler' in an epoch-based run: typedengine picks the sampler from the loop "
                       "(DefaultSampler for epochs)")  # fmt: skip
    if kind == "DefaultSampler" and iter_based:
        m.translated(sampler.where("type"), sampler.key("type"),
                     "DefaultSampler under IterBasedTrainLoop: typedengine streams an InfiniteSampler (MMEngine "
                     "restarts the loader after each pass)")  # fmt: skip
    shuffle = sampler.take_bool("shuffle")
    round_up = sampler.take("round_up")
    if round_up is not MISSING and round_up is not True:
        m.not_migrated(sampler.where("round_up"), sampler.key("round_up"),
                       f"= {round_up}: typedengine's DefaultSampler always pads to a multiple of the world size")  # fmt: skip
    sampler.finish()
    return shuffle


def _collate(m: Mapping, sec: Section) -> str | None:
    collate = sec.take("collate_fn")
    if collate is MISSING:
        return "pseudo"
    cs = m.section(collate, sec.key("collate_fn"), sec.where("collate_fn"))
    if cs is None:
        return None
    kind = cs.take_type()
    if kind in ("pseudo_collate", "default_collate"):
        cs.finish()
        return "pseudo" if kind == "pseudo_collate" else "default"
    cs.finish(f"collate function {kind}: typedengine has 'default' (stack) and 'pseudo' (lists)")
    return None


def map_evaluator(
    m: Mapping, value: Value, key: str, where: Location, data: DataMapping
) -> tuple[ConfigNode, tuple[str, ...]] | None:
    """``EvaluatorConfig[<Metric>Config](metrics=(...))`` over metric placeholders."""
    metrics: list[Value]
    if isinstance(value, CfgDict) and "metrics" in value:
        sec = Section(m, value, key)
        kind = sec.take_type()
        if kind not in (None, "Evaluator"):
            sec.finish(f"evaluator type {kind}: typedengine's evaluator is the built-in one")
        raw = sec.take("metrics")
        metrics = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        sec.finish()
    elif isinstance(value, (list, tuple)):
        metrics = list(value)
    else:
        metrics = [value]
    stubs: list[Stub] = []
    for i, metric in enumerate(metrics):
        if not isinstance(metric, CfgDict):
            m.expect(metric, f"{key}[{i}]" if len(metrics) > 1 else key, where, "a metric dict")
            continue
        mm_type = type_name(metric) or "?"
        name = _class_name(mm_type, "Config", "MetricStubConfig")
        stubs.append(data.stub("metric", name, metric, metric.origin, mm_type))
    if not stubs:
        return None
    unique = list(dict.fromkeys(s.class_name for s in stubs))
    if len(unique) > 1:
        for stub in stubs:
            stub.tag = re.sub(r"(?<!^)(?=[A-Z])", "-", stub.class_name.removesuffix("Config")).lower()
    built = EvaluatorConfig[MetricConfig](metrics=tuple(MetricConfig() for _ in stubs))
    refs: tuple[Node, ...] = tuple(StubRef(s) for s in stubs)
    return ConfigNode(built, type_args=(_union(unique),), overrides={"metrics": refs}), tuple(unique)


def _union(names: list[str]) -> str:
    """The type argument for several metric classes (the writer resolves the names)."""
    if len(names) == 1:
        return names[0]
    return f'<typing:Annotated>[{" | ".join(names)}, <pydantic:Field>(discriminator="type")]'


def opaque_inside(value: Value) -> list[Opaque]:
    """Every not-evaluated value under ``value`` (kept as source text in a placeholder's TODO)."""
    if isinstance(value, Opaque):
        return [value]
    if isinstance(value, CfgDict):
        return [o for v in value.values() for o in opaque_inside(v)]
    if isinstance(value, (list, tuple)):
        return [o for v in value for o in opaque_inside(v)]
    return []
