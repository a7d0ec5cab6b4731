# the middle of the chain: a warmup in front of the root's schedule, Adam-style momentum
_base_ = './base_schedule.py'

warmup = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.25, by_epoch=True, begin=0, end=warmup),
    dict(type='StepLR', step_size=4, gamma=0.5, by_epoch=True, begin=warmup),
]
train_cfg = dict(val_begin=3)
