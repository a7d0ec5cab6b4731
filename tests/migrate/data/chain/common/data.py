dataset_type = 'MyListDataset'
data_root = '{{ fileDirname }}/../data'

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='train.txt', indices=1000),
)
val_dataloader = dict(
    batch_size=50,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='RepeatDataset', times=2,
                 dataset=dict(type=dataset_type, data_root=data_root, ann_file='val.txt', indices=100)),
)
val_evaluator = [dict(type='MyTop1'), dict(type='MyLossMetric', prefix='val')]
