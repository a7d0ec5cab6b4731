"""Each Runner-level key's translation: the written experiment, loaded, holds the configs that mean what the
MMEngine dict meant; what has no equivalent is listed; what blocks a faithful file is refused (exit 2)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path

import pytest

import typedengine as te
from typedengine.migrate.command import migrate
from typedengine.migrate.experiment import Experiment as Migrated
from typedengine.migrate.values import MigrateError

SKELETON = """
model = dict(type='Net', width=8)
train_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='ToyDataset', indices=40))
train_cfg = dict(by_epoch=True, max_epochs=3)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
"""
_count = itertools.count()


def run(tmp_path: Path, text: str, *, skeleton: bool = True) -> tuple[te.RunnerConfig, str, Migrated]:
    """Migrate ``text`` (after the skeleton), import the written file and build its Experiment (which
    validates it as typedengine does before a run)."""
    n = next(_count)
    config = tmp_path / f"cfg_{n}.py"
    config.write_text((SKELETON if skeleton else "") + textwrap.dedent(text))
    written, found = migrate(config)
    out = tmp_path / f"migrated_{n}.py"
    out.write_text(written)
    spec = importlib.util.spec_from_file_location(out.stem, out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[out.stem] = module
    spec.loader.exec_module(module)
    experiment = module.Experiment()
    assert isinstance(experiment, te.RunnerConfig)
    return experiment, written, found


def listed(found: Migrated, key: str) -> str:
    hits = [f.message for f in found.not_migrated if f.key == key]
    assert hits, f"{key} not listed; listed: {[f.key for f in found.not_migrated]}"
    return hits[0]


def refused(tmp_path: Path, text: str, *, skeleton: bool = True) -> str:
    config = tmp_path / f"bad_{next(_count)}.py"
    config.write_text((SKELETON if skeleton else "") + textwrap.dedent(text))
    with pytest.raises(MigrateError) as info:
        migrate(config)
    return str(info.value)


def test_every_scheduler_kind_and_family(tmp_path: Path) -> None:
    cfg, _, found = run(tmp_path, """
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
        param_scheduler = [
            dict(type='ConstantLR', factor=0.5, end=1),
            dict(type='LinearMomentum', start_factor=0.9, by_epoch=False, begin=0, end=10),
            dict(type='StepParamScheduler', param_name='weight_decay', step_size=1, gamma=0.9),
            dict(type='MultiStepLR', milestones=[1, 2], gamma=0.5),
            dict(type='ExponentialLR', gamma=0.99, by_epoch=False),
            dict(type='CosineAnnealingLR', eta_min_ratio=0.01, begin=1, convert_to_iter_based=True),
            dict(type='CosineRestartLR', periods=[1, 2], restart_weights=[1, 0.5], eta_min=0.001),
            dict(type='PolyMomentum', eta_min=0.5, power=2.0),
            dict(type='OneCycleLR', eta_max=0.5, total_steps=30, pct_start=0.25, by_epoch=False),
            dict(type='ReduceOnPlateauParamScheduler', param_name='lr', monitor='acc', rule='greater', patience=1),
            dict(type='QuadraticWarmupLR', end=1),
        ]
        val_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler'), dataset=dict(type='ToyDataset'))
        val_cfg = dict()
        val_evaluator = dict(type='MyAccuracy')
    """)  # fmt: skip
    assert cfg.param_scheduler == (
        te.ConstantSchedulerConfig(param="lr", factor=0.5, end=1),
        te.LinearSchedulerConfig(param="momentum", start_factor=0.9, by_epoch=False, end=10),
        te.StepSchedulerConfig(param="weight_decay", step_size=1, gamma=0.9),
        te.MultiStepSchedulerConfig(param="lr", milestones=(1, 2), gamma=0.5),
        te.ExponentialSchedulerConfig(param="lr", gamma=0.99, by_epoch=False),
        te.CosineAnnealingSchedulerConfig(
            param="lr", eta_min_ratio=0.01, begin=1, convert_to_iter_based=True
        ),
        te.CosineRestartSchedulerConfig(
            param="lr", periods=(1, 2), restart_weights=(1.0, 0.5), eta_min=0.001
        ),
        te.PolySchedulerConfig(param="momentum", eta_min=0.5, power=2.0),
        te.OneCycleSchedulerConfig(param="lr", eta_max=0.5, total_steps=30, pct_start=0.25, by_epoch=False),
        te.ReduceOnPlateauSchedulerConfig(param="lr", monitor="acc", rule="greater", patience=1),
    )
    assert "QuadraticWarmupLR" in listed(found, "param_scheduler[10]")


def test_optimizers_wrappers_and_their_options(tmp_path: Path) -> None:
    from typedengine.optim.amp import AmpOptimWrapperConfig, GradScalerConfig
    from typedengine.optim.optimizers import ImportedOptimizerConfig

    cfg, _, found = run(tmp_path, """
        optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale=512.,
                             optimizer=dict(type='Adam', lr=1e-3, betas=[0.5, 0.99], weight_decay=0))
    """)  # fmt: skip
    assert cfg.optim_wrapper == AmpOptimWrapperConfig(
        dtype="bfloat16", loss_scale=512.0, optimizer=te.AdamConfig(lr=1e-3, betas=(0.5, 0.99))
    )
    cfg, _, found = run(tmp_path, """
        optim_wrapper = dict(type='AmpOptimWrapper', dtype='float32', loss_scale=dict(init_scale=256.),
                             optimizer=dict(type='ASGD', lr=0.01, lambd=1e-4), use_fsdp=False)
    """)  # fmt: skip
    assert isinstance(cfg.optim_wrapper, AmpOptimWrapperConfig)
    assert cfg.optim_wrapper.scaler == GradScalerConfig(init_scale=256.0)
    assert cfg.optim_wrapper.optimizer == ImportedOptimizerConfig(
        target="torch.optim.ASGD", kwargs={"lr": 0.01, "lambd": 1e-4}
    )
    assert "float16 or bfloat16" in listed(found, "optim_wrapper.dtype")
    assert listed(found, "optim_wrapper.use_fsdp").startswith("= False")
    for bad, message in [
        (
            "optim_wrapper = dict(optimizer=dict(type='Lamb', lr=0.1))",
            "optimizer 'Lamb' has no typedengine config",
        ),
        (
            "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentun=0.9))",
            "SGD takes no argument 'momentun'",
        ),
        (
            "optim_wrapper = dict(type='ApexOptimWrapper', optimizer=dict(type='SGD', lr=0.1))",
            "'ApexOptimWrapper'",
        ),
        (
            "optim_wrapper = dict(optimizer=dict(type='SGD', lr=-1))",
            "optim_wrapper.optimizer.lr: must be >= 0",
        ),
    ]:
        assert message in refused(tmp_path, bad), bad


def test_loops_and_their_cadence(tmp_path: Path) -> None:
    cfg, _, found = run(tmp_path, """
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50, val_begin=10,
                         dynamic_intervals=[(1, 25), (80, 5)])
        train_dataloader = dict(batch_size=4, sampler=dict(type='InfiniteSampler', shuffle=False),
                                dataset=dict(type='ToyDataset'))
        val_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
                              dataset=dict(type='ToyDataset', split='val'))
        val_cfg = dict(fp16=True)
        val_evaluator = dict(type='MyMetric')
    """)  # fmt: skip
    # a milestone of 1 is in force from the start: it becomes the base interval
    assert cfg.train == te.IterBasedTrainLoopConfig(
        max_iters=100, val_interval=25, val_begin=10, dynamic_intervals=((79, 5),)
    )
    assert cfg.val == te.ValLoopConfig(autocast="fp16")
    assert cfg.train_dataloader is not None and cfg.train_dataloader.shuffle is False
    # MMEngine's default CheckpointHook counts epochs: in an iteration loop it saves once, at the end
    from typedengine.hooks.checkpoint import CheckpointHookConfig
    from typedengine.runner.plan import compute_plan

    assert cfg.default_hooks.checkpoint == CheckpointHookConfig(by_epoch=False, interval=-1, save_last=True)
    assert compute_plan(cfg).checkpoint_iters == (100,)
    assert any(
        f.key == "default_hooks.checkpoint" and "saves once, at the end" in f.message
        for f in found.translated
    )
    for bad, message in [
        ("train_cfg = dict(type='EpochBasedTrainLoop', by_epoch=True, max_epochs=1)", "gives both `type` and `by_epoch`"),
        ("train_cfg = dict(max_epochs=1)", "needs `type` or `by_epoch`"),
        ("train_cfg = dict(type='MyLoop', max_epochs=1)", "'MyLoop': typedengine has EpochBasedTrainLoop"),
        ("val_dataloader = dict(batch_size=1, sampler=dict(type='DefaultSampler'), dataset=dict(type='D'))",
         "validation needs val_dataloader, val_cfg, val_evaluator together"),
        ("train_dataloader = dict(batch_size=1, dataset=dict(type='D'))", "a dataloader dict needs `sampler`"),
    ]:  # fmt: skip
        assert message in refused(tmp_path, bad), bad


def test_resume_load_from_launcher_and_hidden_keys(tmp_path: Path) -> None:
    from typedengine.model.wrapping import DDPConfig
    from typedengine.runner.compile import CompileConfig

    cfg, _, found = run(tmp_path, """
        load_from = 'ckpt/epoch_3.pth'
        resume = True
        launcher = 'slurm'
        compile = dict(backend='aot_eager', dynamic=False)
        model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True,
                                 detect_anomalous_params=False)
        lr_config = dict(policy='step', step=[8, 11])
        fp16 = dict(loss_scale=512.)
        custom_imports = dict(imports=['my_project.models'], allow_failed_imports=False)
    """)  # fmt: skip
    assert cfg.resume == Path("ckpt/epoch_3.pth") and cfg.load_from is None  # MMEngine resumes from load_from
    assert cfg.launcher == "slurm"
    assert cfg.compile == CompileConfig(backend="aot_eager", dynamic=False)
    # a model_wrapper_cfg of its own keeps torch's broadcast_buffers default
    assert cfg.model_wrapper == DDPConfig(find_unused_parameters=True)
    assert "MMCV 1.x" in listed(found, "lr_config") and "MMCV 1.x" in listed(found, "fp16")
    assert "imports nothing by name" in listed(found, "custom_imports")
    cfg, _, found = run(tmp_path, """
        load_from = 'https://download.openmmlab.com/x.pth'
        launcher = 'mpi'
        model_wrapper_cfg = dict(type='MMFullyShardedDataParallel', cpu_offload=True)
    """)  # fmt: skip
    assert cfg.load_from is None and "download it" in listed(found, "load_from")
    assert "launches none, pytorch, slurm or auto" in listed(found, "launcher")
    assert "FSDP2" in listed(found, "model_wrapper_cfg")
    # SyncBatchNorm (refused on a CPU-only machine by typedengine's own check, so only the text is checked)
    config = tmp_path / "sync_bn.py"
    config.write_text(SKELETON + "sync_bn = 'torch'\n")
    assert (
        "model_wrapper: te.ModelWrapperConfig = te.DDPConfig(broadcast_buffers=False, sync_bn=True)"
        in migrate(config)[0]
    )


def test_dataloaders_datasets_and_preprocessor(tmp_path: Path) -> None:
    from typedengine.model.preprocessor import ImgDataPreprocessorConfig

    cfg, written, found = run(tmp_path, """
        model = dict(type='Net', data_preprocessor=dict(type='ImgDataPreprocessor', mean=[1, 2, 3], std=[4, 5, 6],
                                                        bgr_to_rgb=True, pad_size_divisor=32))
        train_dataloader = dict(batch_size=8, num_workers=2, persistent_workers=True, pin_memory=True, drop_last=True,
                                sampler=dict(type='DefaultSampler', shuffle=True, round_up=False, seed=7),
                                collate_fn=dict(type='default_collate'), num_batch_per_epoch=5,
                                dataset=dict(type='ConcatDataset', datasets=[dict(type='CIFAR10', split='train'),
                                                                             dict(type='MNIST', test_mode=True)]))
    """)  # fmt: skip
    dl = cfg.train_dataloader
    assert dl is not None
    assert (dl.batch_size, dl.num_workers, dl.persistent_workers, dl.pin_memory, dl.drop_last, dl.collate) == (
        8, 2, True, True, True, "default"
    )  # fmt: skip
    assert dl.dataset.declared_length() == 50_000 + 10_000
    assert cfg.data_preprocessor == ImgDataPreprocessorConfig(
        mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0), bgr_to_rgb=True, pad_size_divisor=32
    )
    assert "data_preprocessor" not in written.split("class NetConfig")[1].split("def build")[0]
    assert "pads to a multiple of the world size" in listed(found, "train_dataloader.sampler.round_up")
    assert listed(found, "train_dataloader.sampler.seed").startswith("= 7")
    assert listed(found, "train_dataloader.num_batch_per_epoch").startswith("= 5")


def test_hooks_logs_and_visualizer(tmp_path: Path) -> None:
    from typedengine.hooks.ema import EMAHookConfig
    from typedengine.hooks.empty_cache import EmptyCacheHookConfig
    from typedengine.hooks.logger import LoggerHookConfig
    from typedengine.hooks.profiler import ProfilerHookConfig, ProfilerScheduleConfig
    from typedengine.hooks.sync_buffers import SyncBuffersHookConfig
    from typedengine.logs.backends.mlflow import MlflowBackendConfig
    from typedengine.logs.backends.tensorboard import TensorboardBackendConfig
    from typedengine.logs.backends.wandb import WandbBackendConfig
    from typedengine.logs.processor import LogProcessorConfig, SmoothingConfig

    cfg, _, found = run(tmp_path, """
        default_hooks = dict(
            checkpoint=None,
            logger=dict(type='LoggerHook', interval=7, ignore_last=False, log_metric_by_epoch=False, out_dir='s3://x'),
            empty=dict(type='EmptyCacheHook', after_iter=True),
        )
        custom_hooks = [
            dict(type='EMAHook', momentum=0.001, begin_iter=10, priority='NORMAL'),
            dict(type='EMAHook', ema_type='StochasticWeightAverage'),
            dict(type='SyncBuffersHook'),
            dict(type='ProfilerHook', profile_times=4, schedule=dict(wait=1, warmup=1, active=2),
                 on_trace_ready=dict(type='tb_trace')),
            dict(type='MyProjectHook', every=3),
        ]
        log_processor = dict(window_size=20, custom_cfg=[dict(data_src='loss', method_name='max', window_size='global',
                                                              log_name='loss_max')])
        visualizer = dict(type='Visualizer', vis_backends=[
            dict(type='TensorboardVisBackend'), dict(type='WandbVisBackend', init_kwargs=dict(project='p', entity='e')),
            dict(type='MLflowVisBackend', exp_name='exp'), dict(type='ClearMLVisBackend')])
    """)  # fmt: skip
    hooks = cfg.default_hooks
    assert hooks.checkpoint is None
    assert hooks.logger == LoggerHookConfig(interval_iters=7, ignore_last=False)
    assert (
        hooks.timer is not None
    )  # untouched defaults stay on, as MMEngine merges default_hooks over its own
    assert cfg.custom_hooks == (
        EmptyCacheHookConfig(after_iter=True),
        EMAHookConfig(momentum=0.001, begin_iter=10),
        SyncBuffersHookConfig(),
        ProfilerHookConfig(
            profile_times=4, schedule=ProfilerScheduleConfig(wait=1, warmup=1, active=2), trace="tensorboard"
        ),
    )
    assert "global training iteration" in listed(found, "default_hooks.logger.log_metric_by_epoch")
    assert listed(found, "default_hooks.logger.out_dir").startswith("= 's3://x'")
    assert "another average is not the same run" in listed(found, "custom_hooks[1].ema_type")
    assert "MyProjectHook" in listed(found, "custom_hooks[4]")
    assert cfg.log_processor == LogProcessorConfig(
        window_size=20,
        custom=(SmoothingConfig(key="loss", method="max", window="global", log_name="loss_max"),),
    )
    assert cfg.visualizer.backends == (
        TensorboardBackendConfig(), WandbBackendConfig(project="p", mode="online"), MlflowBackendConfig(experiment_name="exp")
    )  # fmt: skip
    assert listed(found, "visualizer.vis_backends[1].init_kwargs.entity").startswith("= 'e'")
    assert "ClearMLVisBackend" in listed(found, "visualizer.vis_backends[3]")


def test_environment_and_randomness(tmp_path: Path) -> None:
    from typedengine.distributed.process_group import DistConfig

    cfg, _, found = run(tmp_path, """
        env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='spawn'),
                       dist_cfg=dict(backend='gloo', timeout=120, port=29501), resource_limit=8192)
        randomness = dict(seed=1234, deterministic=True, diff_rank_seed=True)
        log_level = 'DEBUG'
        auto_scale_lr = dict(enable=True, base_batch_size=256)
    """)  # fmt: skip
    assert cfg.env == te.EnvConfig(
        cudnn_benchmark=True, mp_start_method="spawn", dist=DistConfig(backend="gloo", timeout_s=120.0)
    )
    assert cfg.randomness == te.RandomnessConfig(seed=1234, deterministic=True, diff_rank_seed=True)
    assert cfg.log_level == "DEBUG"
    assert cfg.auto_scale_lr is not None and (
        cfg.auto_scale_lr.enable,
        cfg.auto_scale_lr.base_batch_size,
    ) == (True, 256)
    assert listed(found, "env_cfg.dist_cfg.port").startswith("= 29501")
    assert "RLIMIT_NOFILE" in listed(found, "env_cfg.resource_limit")


def test_helpers_used_elsewhere_are_not_listed_unused_ones_are(tmp_path: Path) -> None:
    _, _, found = run(tmp_path, """
        lr = 0.02
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=lr))
        forgotten = dict(type='Something')
        default_scope = 'mmdet'
    """)  # fmt: skip
    keys = {f.key for f in found.not_migrated}
    assert "lr" not in keys and "nothing uses it" in listed(found, "forgotten")
    assert "no registries" in listed(found, "default_scope")


def test_values_that_are_not_evaluated(tmp_path: Path) -> None:
    # in a placeholder: kept as written (the user rewrites that code anyway)
    _, written, found = run(tmp_path, """
        import my_project
        model = dict(type='Net', init_cfg=my_project.make_init(), act=lambda x: x)
    """)  # fmt: skip
    assert "#   dict(type='Net', init_cfg=my_project.make_init(), act=lambda x: x)" in written
    assert any("kept as written" in f.message for f in found.translated)
    # in a Runner key: refused, naming the line and the expression
    text = """
        import os
        work_dir = os.path.join('work_dirs', 'x')
        if True:
            train_cfg = dict(by_epoch=True, max_epochs=5)
    """
    message = refused(tmp_path, text)
    lines = (SKELETON + textwrap.dedent(text)).splitlines()
    work_dir_line = next(i for i, line in enumerate(lines, 1) if line.startswith("work_dir"))
    assert f".py:{work_dir_line}: work_dir: `os.path.join('work_dirs', 'x')` is not evaluated" in message
    assert f"inside an `if` block (line {work_dir_line + 1}), which is not run" in message
    assert message.startswith("2 problems in ") and "(nothing written)" in message


def test_mmseg_style_helpers_and_downstream_preprocessor(tmp_path: Path) -> None:
    """mmseg writes ``optimizer = dict(...)`` as a helper for optim_wrapper (not the MMCV 1.x key) and keeps
    its SegDataPreprocessor inside the model."""
    cfg, written, found = run(tmp_path, """
        crop_size = (512, 1024)
        data_preprocessor = dict(type='SegDataPreprocessor', size=crop_size, pad_val=0, seg_pad_val=255)
        model = dict(type='EncoderDecoder', data_preprocessor=data_preprocessor, backbone=dict(type='ResNetV1c'))
        optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
        optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=3, by_epoch=True)]
    """)  # fmt: skip
    assert "optimizer" not in {f.key for f in found.not_migrated}
    assert cfg.data_preprocessor is None
    assert (
        "#       data_preprocessor=dict(type='SegDataPreprocessor', size=(512, 1024), pad_val=0, seg_pad_val=255),"
        in written
    )
    assert cfg.optim_wrapper == te.OptimWrapperConfig(
        optimizer=te.SGDConfig(lr=0.01, momentum=0.9, weight_decay=0.0005)
    )


def test_what_typedengine_refuses_is_said_at_the_top_of_the_file(tmp_path: Path) -> None:
    """MMEngine runs a warmup longer than a shortened run without a word; typedengine refuses it when the file
    is loaded, so the migration says so first (the file is still written: the user decides the fix)."""
    config = tmp_path / "shortened.py"
    config.write_text(
        SKELETON + "param_scheduler = dict(type='LinearLR', start_factor=0.1, begin=0, end=10)\n"
    )
    text, found = migrate(config)
    assert len(found.refusals) == 1 and found.refusals[0].startswith("param_scheduler[0].end:")
    assert "# typedengine refuses this as written -- change it before running:" in text
    out = tmp_path / "shortened_exp.py"
    out.write_text(text)
    spec = importlib.util.spec_from_file_location(out.stem, out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[out.stem] = module
    spec.loader.exec_module(module)
    with pytest.raises(ValueError, match=r"param_scheduler\[0\]\.end"):
        module.Experiment()


def test_mmyolo_style_constructor_arguments_are_listed_not_refused(tmp_path: Path) -> None:
    cfg, _, found = run(tmp_path, """
        optim_wrapper = dict(type='OptimWrapper', constructor='YOLOv5OptimizerConstructor',
                             optimizer=dict(type='SGD', lr=0.01, momentum=0.937, nesterov=True, batch_size_per_gpu=16))
        default_hooks = dict(param_scheduler=dict(type='YOLOv5ParamSchedulerHook', scheduler_type='linear'))
    """)  # fmt: skip
    assert cfg.optim_wrapper == te.OptimWrapperConfig(
        optimizer=te.SGDConfig(lr=0.01, momentum=0.937, nesterov=True)
    )
    assert "custom constructor" in listed(found, "optim_wrapper.constructor")
    assert listed(found, "optim_wrapper.optimizer.batch_size_per_gpu").startswith(
        "= 16: read by the custom constructor"
    )
    assert "YOLOv5ParamSchedulerHook" in listed(found, "default_hooks.param_scheduler")


def test_checkpoint_cadence_is_mmengines(tmp_path: Path) -> None:
    from typedengine.runner.plan import compute_plan

    cfg, _, _ = run(tmp_path, """
        train_cfg = dict(by_epoch=True, max_epochs=10)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, save_begin=3, save_last=False))
    """)  # fmt: skip
    # MMEngine's every_n_epochs: (epoch + 1 - save_begin) % interval == 0 once epoch + 1 >= save_begin
    expected = tuple(e for e in range(1, 11) if e - 3 >= 0 and (e - 3) % 2 == 0)
    assert compute_plan(cfg).checkpoint_epochs == expected == (3, 5, 7, 9)
