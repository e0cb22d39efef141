"""Each adapter of mmplug.integration: the failure it fixes happens without
mmplug (so the adapter is still needed) and is gone with it; what must stay
refused stays refused. The registries' adapter is tested in test_registry.py,
the ``mmplug::`` bases in test_package.py."""
import importlib.metadata
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mmplug.integration import checkpoints

_TOY_RUN = '''
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x, mode='loss'):
        return dict(loss=self.fc(torch.stack(x)).pow(2).mean())


class Data(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(x=torch.full((2, ), float(i)))


Runner(model=Toy(), work_dir=WORK_DIR, train_cfg=dict(by_epoch=True, max_epochs=1),
       train_dataloader=dict(dataset=Data(), batch_size=2, collate_fn=dict(type='pseudo_collate'),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
       optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
       default_hooks=dict(logger=None)).train()
checkpoint = torch.load(WORK_DIR + '/epoch_1.pth')  # torch's default: weights_only=True
print('LOADED', sorted(checkpoint['message_hub']['log_scalars']))
'''


def _python(code: str, with_mmplug: bool, env: dict = None) -> subprocess.CompletedProcess:
    prelude = 'import mmplug\n' if with_mmplug else ''
    return subprocess.run([sys.executable, '-c', prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


needs_resume_shim = pytest.mark.skipif(
    not checkpoints.needed(), reason="the fork's mmengine loads its own checkpoints")


@needs_resume_shim
def test_mmengine_checkpoints_load_with_weights_only(tmp_path):
    code = f'WORK_DIR = {str(tmp_path / "plain")!r}\n' + _TOY_RUN
    without = _python(code, with_mmplug=False)
    assert without.returncode != 0 and 'HistoryBuffer' in without.stderr

    code = f'WORK_DIR = {str(tmp_path / "shimmed")!r}\n' + _TOY_RUN
    shimmed = _python(code, with_mmplug=True)
    assert shimmed.returncode == 0, shimmed.stderr[-3000:]
    assert "LOADED ['train/data_time', 'train/loss', 'train/lr', 'train/time']" in shimmed.stdout
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
        str(tmp_path / 'shimmed' / 'epoch_1.pth'))
    assert 'builtins.getattr' not in unsafe  # HistoryBuffer no longer pickles functions


class _Payload:
    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (open, (self.flag, 'w'))


@pytest.mark.skipif(checkpoints.needed(), reason="OpenMMLab's mmengine needs the adapter")
def test_resume_adapter_is_left_out_where_mmengine_loads_its_checkpoints():
    from mmengine.logging import HistoryBuffer
    assert HistoryBuffer not in torch.serialization.get_safe_globals()
    assert HistoryBuffer.__getstate__ is not checkpoints.history_buffer_getstate


@needs_resume_shim
def test_other_pickled_objects_are_still_refused(tmp_path):
    import mmplug  # noqa: F401
    flag = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    with open(evil, 'wb') as f:  # a checkpoint whose unpickling would create a file
        torch.save({'state_dict': {}, 'meta': _Payload(str(flag))}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(evil)
    assert not flag.exists()

    objects = tmp_path / 'objects.pth'
    torch.save({'meta': np.array([1, 'a'], dtype=object)}, objects)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(objects)

    numbers = tmp_path / 'numbers.pth'
    torch.save({'eta': np.float64(1.5), 'hist': np.arange(3, dtype=np.int64)}, numbers)
    assert torch.load(numbers)['eta'] == 1.5


SSDLITE_PREDICT = """
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
init_default_scope('mmdet')
import os, mmdet
cfg = Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), '.mim/configs/ssd',
                                   'ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'))
model = MODELS.build(cfg.model).eval()
sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1, 1)))
with torch.no_grad():
    out = model.test_step(dict(inputs=[torch.zeros(3, 64, 64, dtype=torch.uint8)],
                               data_samples=[sample]))
print('PREDICTED', len(out))
"""


def test_ssd_heads_predict():
    """mmdet 3.3's SSDHead cannot predict (it has no loss_cls); the adapter makes
    tools/test.py work for SSDLite configs."""
    without = _python(SSDLITE_PREDICT, with_mmplug=False)
    assert "has no attribute 'loss_cls'" in without.stderr
    # mmplug imports no mmdet model: the config's build, loading them, applies it
    lazy = 'import sys\nassert "mmdet.models" not in sys.modules\n' + SSDLITE_PREDICT
    with_adapter = _python(lazy, with_mmplug=True)
    assert 'PREDICTED 1' in with_adapter.stdout, with_adapter.stderr[-2000:]
    # mmdet's models imported before mmplug: applied by the import
    imported_first = _python('import mmdet.models\nimport mmplug\n'
                             'assert mmdet.models.dense_heads.SSDHead.loss_cls is None\n'
                             + SSDLITE_PREDICT, with_mmplug=False)
    assert 'PREDICTED 1' in imported_first.stdout, imported_first.stderr[-2000:]


def _distribution_installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(_distribution_installed('mmsegmentation'),
                    reason="mmseg's distribution has the name mmengine's table gives it")
def test_mmseg_bases_resolve_where_the_distribution_is_renamed(tmp_path):
    """The fork installs mmseg as onedl-mmsegmentation: mmengine alone then
    fails on every ``mmseg::`` base."""
    cfg = tmp_path / 'user.py'
    cfg.write_text("_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'\n")
    code = f'''
    from mmengine.config import Config
    print('SCOPE', Config.fromfile({str(cfg)!r}).model._scope_)
    '''
    without = _python(code, with_mmplug=False)
    assert without.returncode != 0 and 'mmsegmentation is not installed' in without.stderr
    shimmed = _python(code, with_mmplug=True)
    assert shimmed.returncode == 0, shimmed.stderr[-3000:]
    assert 'SCOPE mmseg' in shimmed.stdout


INFERENCERS = """
import mmplug
from mmdet.apis import DetInferencer
from mmseg.apis import MMSegInferencer
from mmpretrain.apis import ImageClassificationInferencer
# mmpretrain's builds its pipeline in the current default scope: first
cls = ImageClassificationInferencer(model='mmplug::cls/fasternet_t0_in1k.py', device='cpu')
det = DetInferencer(model='mmplug::demo/fasternet_t0_maskrcnn_shapes.py', device='cpu')
seg = MMSegInferencer(model='mmplug::demo/inceptionnext_atto_upernet_shapes.py', device='cpu')
print('BUILT', type(det.model.backbone).__name__, type(seg.model.backbone).__name__,
      type(cls.model.backbone).__name__)
import numpy as np
image = np.zeros((64, 80, 3), dtype=np.uint8)
print('DETECTED', len(det(image, return_datasamples=True)['predictions']))
"""


def test_inferencers_take_mmplug_names():
    """mmdet's, mmseg's and mmpretrain's inferencers take ``mmplug::`` names
    as they take a config file; without the adapter, mmdet's looks the name
    up in its own model index."""
    code = INFERENCERS.replace('import mmplug\n', '')
    without = _python(code, with_mmplug=False)  # mmpretrain's reads the name as a path
    assert "No such file or directory: 'mmplug::cls/fasternet_t0_in1k.py'" in without.stderr
    without = _python(code.replace('cls = ', 'cls = None  # '), with_mmplug=False)
    assert 'Cannot find model: mmplug::demo/fasternet_t0_maskrcnn_shapes.py' in without.stderr
    with_adapter = _python(INFERENCERS, with_mmplug=False)
    assert with_adapter.returncode == 0, with_adapter.stderr[-3000:]
    assert 'BUILT FasterNet InceptionNeXt FasterNet' in with_adapter.stdout
    assert 'DETECTED 1' in with_adapter.stdout


def test_mmengine_hub_builds_mmplug_names():
    """``mmengine.hub.get_model`` imports ``mmplug.utils``, as it does every
    OpenMMLab package's, and builds in the config's own scope."""
    from mmengine.hub import get_model
    model = get_model('mmplug::demo/fasternet_t0_maskrcnn_shapes.py')
    assert type(model).__name__ == 'MaskRCNN' and type(model.backbone).__name__ == 'FasterNet'
