# the root of the chain: a plain SGD schedule over 12 epochs
max_epochs = 12
base_lr = 0.1

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(type='value', clip_value=10),
)
param_scheduler = [dict(type='StepLR', step_size=4, gamma=0.5, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1, val_begin=1)
val_cfg = dict(type='ValLoop', fp16=False)
