_base_ = ['./common/middle.py', './common/data.py', './common/runtime.yaml']

model = dict(type='MyNet', width=64, num_classes=10)

# replace the optimizer instead of merging into it (SGD's momentum must not leak into AdamW)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr={{_base_.base_lr}} / 100, betas=(0.9, 0.95)),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1), 'head.bias': dict(decay_mult=0.0)}),
)

# reuse and edit values of the bases
train_cfg = dict(max_epochs=_base_.max_epochs + 4, dynamic_intervals=[(10, 2)])
schedule = _base_.param_scheduler
schedule[1]['gamma'] = 0.1
param_scheduler = schedule + [dict(type='ReduceOnPlateauLR', monitor='loss', patience=2, by_epoch=True, begin=12)]

val_dataloader = dict(batch_size=_base_.train_dataloader.batch_size * 5)

default_hooks = dict(
    checkpoint=dict(_delete_=True, type='CheckpointHook', interval=4, save_best=['accuracy'], rule='greater'),
    timer=None,
)
custom_hooks = [dict(type='EarlyStoppingHook', monitor='accuracy', patience=3, min_delta=0.01)]

train_pipeline = [dict(type='NotUsedAnyMore')]  # too late: the base's dataset dicts already hold theirs
resume = True
load_from = 'work_dirs/experiment/epoch_4.pth'
work_dir = './work_dirs/chain_experiment'
randomness = dict(seed=3, deterministic=True)
launcher = 'pytorch'
