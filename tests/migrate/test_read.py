"""Reading MMEngine config trees without running them: MMEngine's merge rules, references and errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from typedengine.migrate.read import read_config
from typedengine.migrate.values import CfgDict, MigrateError, Opaque, Symbol


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def plain(value: object) -> object:
    """CfgDicts as plain dicts, for comparisons."""
    if isinstance(value, CfgDict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def test_dicts_merge_key_by_key_lists_replace_and_delete_replaces(tmp_path: Path) -> None:
    write(tmp_path, "base.py", """
        optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
        model = dict(backbone=dict(depth=50, out_indices=(0, 1, 2, 3)), neck=dict(type='FPN'))
        pipeline = [dict(type='A'), dict(type='B')]
    """)  # fmt: skip
    main = write(tmp_path, "child.py", """
        _base_ = './base.py'
        optim_wrapper = dict(optimizer=dict(lr=0.01))
        model = dict(backbone=dict(depth=18), neck=dict(_delete_=True, type='GAP'))
        pipeline = [dict(type='C')]
    """)  # fmt: skip
    cfg = plain(read_config(main).cfg)
    assert cfg == {
        "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}},
        "model": {"backbone": {"depth": 18, "out_indices": (0, 1, 2, 3)}, "neck": {"type": "GAP"}},
        "pipeline": [{"type": "C"}],
    }


def test_base_chains_and_several_bases_resolve_relative_to_each_file(tmp_path: Path) -> None:
    write(tmp_path, "a/root.py", "x = 1\ny = dict(k=1)\n")
    write(tmp_path, "a/b/mid.py", "_base_ = ['../root.py']\ny = dict(j=2)\n")
    write(tmp_path, "other.yaml", "z: [1, 2]\nw: {deep: {v: 1e-3}}\n")
    write(tmp_path, "other2.json", '{"u": 1e-3, "_base_": "./other.yaml"}')
    main = write(tmp_path, "exp.py", "_base_ = ['a/b/mid.py', 'other2.json']\ny = dict(i=3)\n")
    tree = read_config(main)
    assert plain(tree.cfg) == {
        "x": 1,
        "y": {"k": 1, "j": 2, "i": 3},
        "z": [1, 2],
        "w": {"deep": {"v": "1e-3"}},
        "u": 0.001,
    }
    assert [p.name for p in tree.files] == ["exp.py", "mid.py", "root.py", "other2.json", "other.yaml"]
    # every key knows where it was set
    assert tree.cfg.where_of("x").path.name == "root.py"
    assert tree.cfg.where_of("u").line == 1
    y = tree.cfg["y"]
    assert isinstance(y, CfgDict) and y.where_of("j").path.name == "mid.py" and y.where_of("i").line == 2


def test_base_references_both_forms_and_mutation_through_base(tmp_path: Path) -> None:
    write(tmp_path, "base.py", """
        lr = 0.1
        model = dict(type='ResNet', depth=50)
        sched = [dict(type='StepLR', gamma=0.5)]
    """)  # fmt: skip
    main = write(tmp_path, "exp.py", """
        _base_ = 'base.py'
        doubled = {{_base_.lr}} * 2
        quoted = '{{_base_.model.depth}}'
        attr = _base_.model.depth + 1
        a = _base_.model
        a.type = 'MobileNet'          # ConfigDict attribute assignment changes the base (as in MMEngine)
        s = _base_.sched
        s[0]['gamma'] = 0.1
        extended = s + [dict(type='X')]
    """)  # fmt: skip
    cfg = plain(read_config(main).cfg)
    assert cfg["doubled"] == 0.2 and cfg["quoted"] == 50 and cfg["attr"] == 51  # type: ignore[index]
    assert cfg["model"] == {"type": "MobileNet", "depth": 50}  # type: ignore[index]
    assert cfg["sched"] == [{"type": "StepLR", "gamma": 0.1}]  # type: ignore[index]
    assert cfg["extended"] == [{"type": "StepLR", "gamma": 0.1}, {"type": "X"}]  # type: ignore[index]


def test_plain_python_values_are_evaluated(tmp_path: Path) -> None:
    main = write(tmp_path, "exp.py", """
        max_epochs = 12
        warmup = max_epochs // 4
        crop = (512, 512)
        root = 'data/coco/'
        ann = root + 'annotations/train.json'
        name = f'{root}x{max_epochs:03d}'
        pipeline = [dict(type='A'), *[dict(type='B')]]
        pipeline.append(dict(type='C'))
        pipeline += [dict(type='D')]
        cfg = dict(a=1, **dict(b=2))
        cfg.update(c=3)
        merged = {**cfg, 'd': [i for i in ()] if False else 4}
        flag = not (max_epochs > 10 and crop[0] == 512)
        choice = 'big' if max_epochs >= 12 else 'small'
        sliced = pipeline[1:3]
        number = int(max(1.5, 2.5)) + abs(-3) + round(2.6) + len(crop)
        words = 'a,b'.split(',')
        del warmup
    """)  # fmt: skip
    cfg = plain(read_config(main).cfg)
    assert cfg == {
        "max_epochs": 12, "crop": (512, 512), "root": "data/coco/", "ann": "data/coco/annotations/train.json",
        "name": "data/coco/x012",
        "pipeline": [{"type": "A"}, {"type": "B"}, {"type": "C"}, {"type": "D"}],
        "cfg": {"a": 1, "b": 2, "c": 3}, "merged": {"a": 1, "b": 2, "c": 3, "d": 4}, "flag": False,
        "choice": "big", "sliced": [{"type": "B"}, {"type": "C"}], "number": 2 + 3 + 3 + 2, "words": ["a", "b"],
    }  # fmt: skip


def test_code_is_never_run_and_what_is_not_evaluated_keeps_its_source(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    main = write(tmp_path, "exp.py", f"""
        import os
        from pathlib import Path
        data_root = os.environ.get('DATA', 'data/')
        touched = Path({str(marker)!r}).touch()
        fn = lambda x: x
        squares = [i * i for i in range(3)]
        if data_root:
            work_dir = 'a'
        def helper():
            return 1
        opt = dict(type='SGD', lr=0.1)
        for _ in range(1):
            opt.update(lr=0.2)
    """)  # fmt: skip
    tree = read_config(main)
    assert not marker.exists()
    cfg = tree.cfg
    assert cfg["os"] == Symbol("os")
    root = cfg["data_root"]
    assert (
        isinstance(root, Opaque) and root.source == "os.environ.get('DATA', 'data/')" and root.where.line == 3
    )
    assert (
        isinstance(cfg["touched"], Opaque)
        and isinstance(cfg["fn"], Opaque)
        and isinstance(cfg["squares"], Opaque)
    )
    # names a block may set or change are unknown, with the block's line
    for name in ("work_dir", "helper", "opt"):
        value = cfg[name]
        assert isinstance(value, Opaque), name
    assert "line 12" in cfg["opt"].reason  # type: ignore[union-attr]
    assert {what for _, what in tree.blocks} == {"`if` statement", "`def` statement", "`for` statement"}


def test_predefined_and_environment_variables_are_substituted_like_mmengine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIG_BATCH", "24")
    monkeypatch.delenv("MIG_ROOT", raising=False)
    main = write(tmp_path, "sub/exp.py", """
        work_dir = '{{ fileDirname }}/work/{{ fileBasenameNoExtension }}'
        batch_size = {{$MIG_BATCH:16}}
        data_root = '{{$MIG_ROOT:data/default}}'
    """)  # fmt: skip
    tree = read_config(main)
    assert tree.cfg["work_dir"] == f"{(tmp_path / 'sub').resolve().as_posix()}/work/exp"
    assert tree.cfg["batch_size"] == 24 and tree.cfg["data_root"] == "data/default"
    envs = {s.text: (s.value, s.from_environment) for s in tree.substitutions}
    assert envs["{{$MIG_BATCH:16}}"] == ("24", True)
    assert envs["{{$MIG_ROOT:data/default}}"] == ("data/default", False)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"exp.py": "_base_ = ['missing.py']\n"}, "exp.py:1: _base_ file 'missing.py' not found"),
        (
            {"exp.py": "x = 1\n_base_ = [\n    'a.py',\n    'gone.py']\n", "a.py": "y = 1\n"},
            "exp.py:2: _base_ file 'gone.py'",
        ),
        ({"exp.py": "x = dict(a=1,\n    b=2\ny = 3\n"}, "exp.py:1: syntax error"),
        ({"exp.py": "_base_ = 'a.py'\n", "a.py": "_base_ = 'exp.py'\n"}, "the _base_ files form a cycle"),
        (
            {"exp.py": "_base_ = ['a.py', 'b.py']\n", "a.py": "k = 1\n", "b.py": "k = 2\n"},
            "`k` is defined in two _base_ files",
        ),
        (
            {"exp.py": "_base_ = 'a.py'\nk = dict(x=1)\n", "a.py": "k = 3\n"},
            "exp.py:2: `k` is a dict here but a int",
        ),
        ({"exp.py": "_base_ = 'a.py'\nv = {{_base_.nope}}\n", "a.py": "k = 3\n"}, "exp.py:2: `_base_.nope`"),
        ({"exp.py": "x = undefined_name + 1\n"}, "exp.py:1: name 'undefined_name' is not defined"),
        ({"exp.py": "_base_ = get_bases()\n"}, "exp.py:1: `_base_` must be a path or a list of paths"),
        (
            {"exp.py": "from mmengine.config import read_base\nwith read_base():\n    from .a import *\n"},
            "exp.py:2: `with read_base():`",
        ),
        ({"exp.yaml": "a: [1, 2\n"}, "exp.yaml:2: not valid YAML"),
        ({"exp.py": "b = '{{$MIG_UNSET_VAR:}}'\n"}, "MIG_UNSET_VAR is not set and there is no default"),
    ],
)
def test_failures_name_the_file_and_line(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    main = tmp_path / next(iter(files))
    with pytest.raises(MigrateError, match=None) as info:
        read_config(main)
    assert message in str(info.value), str(info.value)
    assert info.value.exit_code == 2


def test_huge_values_are_refused_not_built(tmp_path: Path) -> None:
    main = write(tmp_path, "exp.py", "a = 'x' * 10**9\nb = 10 ** 10 ** 10\nc = [0] * 10**8\n")
    cfg = read_config(main).cfg
    assert all(isinstance(cfg[k], Opaque) for k in "abc")
