"""The tools' shared checks: a missing data set is named before anything is
built; wrapped, remote and generated data sets are handled."""
import pytest
from mmengine.config import Config

from mmplug.apis import check_data, revert_sync_bn


def _cfg(scope, dataset):
    return Config(dict(default_scope=scope, train_dataloader=dict(dataset=dataset)))


def test_check_data_names_what_is_missing(tmp_path):
    coco = dict(type='CocoDataset', data_root=f'{tmp_path}/', ann_file='ann.json',
                data_prefix=dict(img='images/'))
    wrapped = _cfg('mmdet', dict(type='RepeatDataset', times=2,
                                 dataset=dict(type='ConcatDataset', datasets=[coco])))
    with pytest.raises(SystemExit, match=r"train_dataloader\.dataset\.ann_file: '.*ann\.json' "
                       r'does not exist(.|\n)*make demo'):
        check_data(wrapped, ['train_dataloader'])
    (tmp_path / 'ann.json').write_text('{}')
    with pytest.raises(SystemExit, match=r"dataset\.data_prefix\.img: '.*images/' does not exist"):
        check_data(wrapped, ['train_dataloader'])
    (tmp_path / 'images').mkdir()
    check_data(wrapped, ['train_dataloader'])

    check_data(_cfg('mmdet', dict(coco, data_root='s3://bucket/coco/')), ['train_dataloader'])
    check_data(_cfg('mmdet', dict(type='ShapesCocoDataset', data_root=f'{tmp_path}/nothing/')),
               ['train_dataloader'])  # generated on first use
    with pytest.raises(SystemExit, match=r"dataset\.data_prefix: '.*train' does not exist"):
        check_data(_cfg('mmpretrain', dict(type='CustomDataset', data_root=str(tmp_path),
                                           data_prefix='train')), ['train_dataloader'])


def test_revert_sync_bn_turns_every_syncbn_of_a_config():
    model = dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
                 decode_head=[dict(norm_cfg=dict(type='MMSyncBN')), dict(norm_cfg=dict(type='BN'))],
                 neck=(dict(norm_cfg=dict(type='LN2d')), ))
    assert revert_sync_bn(model) == 2
    assert model['backbone']['norm_cfg'] == dict(type='BN', requires_grad=True)
    assert [h['norm_cfg']['type'] for h in model['decode_head']] == ['BN', 'BN']
    assert model['neck'][0]['norm_cfg']['type'] == 'LN2d'
