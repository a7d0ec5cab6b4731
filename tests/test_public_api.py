"""The public API is the one curated list in typedengine/__init__.py: it resolves, it is lazy, it is all a user
imports; sub-packages re-export nothing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import typedengine as te

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "typedengine"
EXAMPLES = ROOT / "examples"

USED_BY_EXPERIMENTS = {
    # what a typical experiment writes (the names the migration tool emits too)
    "Runner", "RunnerConfig", "Config", "Tag", "replace", "cli", "ImportRef", "load_config", "save_config",
    "EpochBasedTrainLoopConfig", "IterBasedTrainLoopConfig", "ValLoopConfig", "TestLoopConfig",
    "SGDConfig", "AdamConfig", "AdamWConfig", "OptimWrapperConfig", "AmpOptimWrapperConfig",
    "OptimWrapperDictConfig", "ParamwiseConfig", "ClipGradNormConfig", "AutoScaleLRConfig",
    "ParamSchedulerConfig", "ConstantSchedulerConfig", "LinearSchedulerConfig", "StepSchedulerConfig",
    "MultiStepSchedulerConfig", "ExponentialSchedulerConfig", "CosineAnnealingSchedulerConfig",
    "CosineRestartSchedulerConfig", "PolySchedulerConfig", "OneCycleSchedulerConfig",
    "ReduceOnPlateauSchedulerConfig", "DefaultHooksConfig", "CheckpointHookConfig", "LoggerHookConfig",
    "EMAHookConfig", "EarlyStoppingHookConfig", "VisualizerConfig", "LocalBackendConfig",
    "TensorboardBackendConfig", "MlflowBackendConfig", "WandbBackendConfig", "LogProcessorConfig",
    "EnvConfig", "DistConfig", "RandomnessConfig", "CompileConfig", "DDPConfig", "FSDPConfig",
    "DatasetConfig", "DataLoaderConfig", "EvaluatorConfig", "AccuracyConfig", "BaseModel", "ModelConfig",
    "BaseDataPreprocessorConfig", "ImgDataPreprocessorConfig", "Hook", "Priority", "BaseMetric",
}  # fmt: skip


def test_every_public_name_resolves_and_dir_is_the_list() -> None:
    assert len(te.__all__) == len(set(te.__all__))
    assert USED_BY_EXPERIMENTS <= set(te.__all__)
    for name in te.__all__:
        assert getattr(te, name) is not None, name
    assert dir(te) == sorted(te.__all__)
    with pytest.raises(AttributeError, match="no attribute 'LinearLRConfig'"):
        te.LinearLRConfig  # noqa: B018  (the 28 per-variant scheduler configs are gone)


def test_every_built_in_hook_config_is_public() -> None:
    hook_configs = {
        node.name
        for path in (PACKAGE / "hooks").glob("*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef) and node.name.endswith("HookConfig")
    }
    assert hook_configs and hook_configs <= set(te.__all__)


def test_the_type_checking_imports_mirror_the_lazy_table() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module
                for alias in stmt.names:
                    assert alias.asname == alias.name  # an explicit re-export for mypy
                    imported[alias.name] = f"typedengine.{stmt.module}"
    exports = dict(te._EXPORTS)
    assert imported == exports
    assert set(te.__all__) == {*exports, "cli", "__version__"}


def test_sub_packages_hold_only_a_docstring() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{init} re-exports or runs code"
    assert not (PACKAGE / "lazy_imports.py").exists()


def _fresh(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return res.stdout.strip()


def test_importing_typedengine_and_every_config_imports_no_torch() -> None:
    configs = [n for n in te.__all__ if n.endswith("Config") or n in ("Tag", "Variants", "cli")]
    code = (
        "import sys, typedengine as te\n"
        "before = 'torch' in sys.modules\n"
        f"for name in {configs!r}: getattr(te, name)\n"
        "import typedengine.runner.config\n"
        "print(before, 'torch' in sys.modules)"
    )
    assert _fresh(code) == "False False"


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name + (f" as {a.asname}" if a.asname else "") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [f"from {node.module} import {a.name}" for a in node.names]
    return out


def _te_names(tree: ast.AST) -> set[str]:
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "te"
    }


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_import_only_typedengine_as_te(example: Path) -> None:
    tree = ast.parse(example.read_text())
    ours = [i for i in _imports(tree) if "typedengine" in i]
    assert not ours or ours == ["typedengine as te"], ours
    assert _te_names(tree) <= set(te.__all__), _te_names(tree) - set(te.__all__)


def test_the_readme_quickstart_shows_its_imports_and_uses_public_names() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Quickstart")
    begin = readme.index("```python", start) + len("```python")
    tree = ast.parse(readme[begin : readme.index("```", begin)])
    assert [i for i in _imports(tree) if "typedengine" in i] == ["typedengine as te"]
    used = _te_names(tree)
    assert used <= set(te.__all__) and {"RunnerConfig", "cli", "Runner"} <= used
