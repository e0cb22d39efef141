"""The library API and what the tools share: a missing data set is named
before anything is built (wrapped, remote and generated data sets handled);
a whole-model checkpoint loads only when it fits; the tools print the
library's errors as one line."""
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmplug.apis import check_data, load_checkpoint, revert_sync_bn
from mmplug.cli import exit_on_error, read_config
from mmplug.models.checkpoint import CheckpointMismatchError


def _cfg(scope, dataset):
    return Config(dict(default_scope=scope, train_dataloader=dict(dataset=dataset)))


def test_check_data_names_what_is_missing(tmp_path):
    coco = dict(type='CocoDataset', data_root=f'{tmp_path}/', ann_file='ann.json',
                data_prefix=dict(img='images/'))
    wrapped = _cfg('mmdet', dict(type='RepeatDataset', times=2,
                                 dataset=dict(type='ConcatDataset', datasets=[coco])))
    with pytest.raises(FileNotFoundError, match=r"train_dataloader\.dataset\.ann_file: "
                       r"'.*ann\.json' does not exist(.|\n)*make demo"):
        check_data(wrapped, ['train_dataloader'])
    (tmp_path / 'ann.json').write_text('{}')
    with pytest.raises(FileNotFoundError,
                       match=r"dataset\.data_prefix\.img: '.*images/' does not exist"):
        check_data(wrapped, ['train_dataloader'])
    (tmp_path / 'images').mkdir()
    check_data(wrapped, ['train_dataloader'])

    check_data(_cfg('mmdet', dict(coco, data_root='s3://bucket/coco/')), ['train_dataloader'])
    check_data(_cfg('mmdet', dict(type='ShapesCocoDataset', data_root=f'{tmp_path}/nothing/')),
               ['train_dataloader'])  # generated on first use
    with pytest.raises(FileNotFoundError, match=r"dataset\.data_prefix: '.*train' does not exist"):
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


def test_load_checkpoint_loads_a_fitting_file_and_names_what_does_not_fit(tmp_path):
    def net():
        return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    trained = net()
    nn.init.normal_(trained[0].weight)
    torch.save({'meta': {'epoch': 3}, 'state_dict': trained.state_dict()}, tmp_path / 'a.pth')
    model = net()
    assert load_checkpoint(model, str(tmp_path / 'a.pth'))['meta'] == {'epoch': 3}
    assert torch.equal(model[0].weight, trained[0].weight)

    partial = {k: v for k, v in trained.state_dict().items() if not k.startswith('1.')}
    torch.save({'state_dict': dict(partial, extra=torch.zeros(1))}, tmp_path / 'b.pth')
    with pytest.raises(CheckpointMismatchError, match=r'Missing from the file: \[1\.weight.*'
                       r'in the file but not in the model: \[extra\]'):
        load_checkpoint(net(), str(tmp_path / 'b.pth'))
    with pytest.raises(FileNotFoundError, match="checkpoint '.*nope.pth' not found"):
        load_checkpoint(net(), str(tmp_path / 'nope.pth'))


def test_tools_exit_with_the_message_of_a_library_error(tmp_path):
    config = tmp_path / 'engine.py'
    config.write_text("default_scope = 'mmengine'\n")
    with pytest.raises(SystemExit) as exit_info, exit_on_error('tool.py'):
        read_config(str(config))
    assert exit_info.value.code == (f"tool.py: {config}: default_scope is 'mmengine'; mmplug "
                                    'tools run configs of mmdet, mmseg, mmpretrain')
    with pytest.raises(SystemExit, match=r"^tool.py: config file '.*none\.py' not found$"), \
            exit_on_error('tool.py'):
        read_config(str(tmp_path / 'none.py'))
    with pytest.raises(KeyError), exit_on_error('tool.py'):  # a bug keeps its traceback
        raise KeyError('model')


def test_build_model_takes_a_top_level_data_preprocessor_as_the_runner_does():
    from mmplug.apis import build_model
    cfg = Config.fromfile('configs/cls/fasternet_t0_in1k.py')
    assert 'data_preprocessor' not in cfg.model and cfg.data_preprocessor.mean
    model = build_model(cfg)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(
        cfg.data_preprocessor.mean)
    assert 'data_preprocessor' not in cfg.model  # the caller's config is left as it was
