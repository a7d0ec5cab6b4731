_base_ = [
    '_base_/models/resnet18_cifar.py', '_base_/datasets/cifar10_bs16.py',
    '_base_/schedules/cifar10_bs128.py', '_base_/default_runtime.py'
]

# a shorter run with a larger batch: 5 warmup epochs (stepped per iteration), then cosine to 1e-4
max_epochs = 30
warmup_epochs = 5

train_dataloader = dict(batch_size=128)

optim_wrapper = dict(
    optimizer=dict(lr=0.2, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=5.0),
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-4,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs),
]

train_cfg = dict(max_epochs=max_epochs, val_interval=2)

default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=50),
)

randomness = dict(seed=42)
