_base_ = [
    '_base_/models/faster-rcnn_r50_fpn.py',
    '_base_/datasets/coco_detection.py',
    '_base_/schedules/schedule_90k.py', '_base_/default_runtime.py'
]

# iteration-based logging and checkpoints, mixed precision, gradient clipping, EMA
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3, save_last=True))
log_processor = dict(by_epoch=False)

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale=dict(init_scale=1024.0, growth_interval=1000),
    clip_grad=dict(max_norm=35, norm_type=2),
    accumulative_counts=2)

custom_hooks = [
    dict(type='EMAHook', momentum=0.0002, update_buffers=True, priority=49),
    dict(type='CheckInvalidLossHook', interval=100),
]

train_cfg = dict(dynamic_intervals=[(80001, 2000)])

find_unused_parameters = True
load_from = 'checkpoints/faster_rcnn_r50_fpn_1x_coco.pth'
randomness = dict(seed=0, deterministic='warn' == 'warn' and False, diff_rank_seed=True)
