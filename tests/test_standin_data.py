"""Stand-in COCO, ADE20K and ImageNet data: deterministic, in the real
layouts and conventions, consistent with its pixels, and read by the
papers' configs with only the overrides of standin_overrides."""
import copy
import filecmp
import importlib
import json

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image, ImageDraw, ImageFilter

from tests.helpers import ROOT
from tools.misc import standin
from tools.misc.standin import standin_overrides, standin_root, write_coco, write_standin

ADE = 'ade/ADEChallengeData2016'
SMALL = dict(train=3, val=2)


@pytest.fixture(scope='module')
def out(tmp_path_factory):
    path = tmp_path_factory.mktemp('standin')
    write_standin(str(path), seed=0, **SMALL)
    return path


def test_same_seed_same_bytes_other_seed_other_bytes(out, tmp_path):
    write_standin(str(tmp_path / 'same'), seed=0, **SMALL)
    write_standin(str(tmp_path / 'other'), seed=1, **SMALL)
    files = ['coco/annotations/instances_train2017.json',
             'coco/annotations/instances_val2017.json', 'coco/train2017/000000000001.jpg',
             f'{ADE}/annotations/training/ADE_train_00000001.png',
             f'{ADE}/annotations/validation/ADE_val_00000002.png', 'imagenet/meta/train.txt',
             'imagenet/val/ILSVRC2012_val_00000001.JPEG']
    for rel in files:
        assert filecmp.cmp(out / rel, tmp_path / 'same' / rel, shallow=False), rel
    for rel in files[:5]:
        assert not filecmp.cmp(out / rel, tmp_path / 'other' / rel, shallow=False), rel
    # Each split has its own stream: val does not depend on the train count.
    write_coco(str(tmp_path / 'more'), train=5, val=2, seed=0)
    rel = 'coco/annotations/instances_val2017.json'
    assert filecmp.cmp(out / rel, tmp_path / 'more' / rel, shallow=False)


def test_never_overwrites_other_data(tmp_path):
    (tmp_path / 'coco').mkdir()
    (tmp_path / 'coco' / 'real.json').write_text('{}')
    with pytest.raises(FileExistsError, match='not mmplug stand-in data'):
        write_coco(str(tmp_path))
    assert (tmp_path / 'coco' / 'real.json').exists()
    write_coco(str(tmp_path / 'again'), train=3, val=1)
    write_coco(str(tmp_path / 'again'), train=1, val=1)  # its own data is replaced
    assert sorted(p.name for p in (tmp_path / 'again/coco/train2017').iterdir()) == \
        ['000000000001.jpg']


def test_coco_has_the_official_categories_and_loads(out):
    from mmdet.datasets import CocoDataset
    from pycocotools.coco import COCO
    coco = COCO(str(out / 'coco/annotations/instances_train2017.json'))
    gaps = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
    assert coco.getCatIds() == [i for i in range(1, 91) if i not in gaps]
    names = [c['name'] for c in coco.loadCats(coco.getCatIds())]
    assert tuple(names) == CocoDataset.METAINFO['classes']
    shapes = coco.loadCats(standin.COCO_SHAPE_IDS)
    assert [c['name'] for c in shapes] == ['sports ball', 'book', 'kite']
    assert len(coco.getImgIds()) == 3 and coco.getAnnIds()
    for ann in coco.loadAnns(coco.getAnnIds()):
        assert ann['category_id'] in standin.COCO_SHAPE_IDS and ann['iscrowd'] == 0
        image = coco.loadImgs(ann['image_id'])[0]
        assert image['file_name'] == f'{image["id"]:012d}.jpg'
        assert abs(coco.annToMask(ann).sum() - ann['area']) < 0.15 * ann['area'] + 10


def _masks(coco: dict, image_id: int, size):
    """(COCO category id, mask) of an image's annotations, drawn by PIL."""
    for ann in coco['annotations']:
        if ann['image_id'] == image_id:
            mask = Image.new('L', size[::-1])
            ImageDraw.Draw(mask).polygon(ann['segmentation'][0], fill=255)
            yield ann['category_id'], mask


def test_masks_agree_with_images_and_ade_label_maps(out):
    coco = json.loads((out / 'coco/annotations/instances_train2017.json').read_text())
    from mmseg.datasets import ADE20KDataset
    ade_classes = ADE20KDataset.METAINFO['classes']
    assert [ade_classes[i - 1] for i in (1, 120, 42, 150)] == ['wall', 'ball', 'box', 'flag']
    # sports ball, book, kite (circle, square, triangle) -> ball, box, flag
    to_ade = {37: 120, 84: 42, 38: 150}
    for image in coco['images']:
        i, size = image['id'], (image['height'], image['width'])
        # COCO and ADE20K made with the same arguments show the same scenes.
        jpg = out / f'{ADE}/images/training/ADE_train_{i:08d}.jpg'
        assert filecmp.cmp(out / 'coco/train2017' / image['file_name'], jpg, shallow=False)
        pixels = np.asarray(Image.open(jpg).convert('RGB')).astype(float)
        labels = np.asarray(Image.open(out / f'{ADE}/annotations/training/'
                                       f'ADE_train_{i:08d}.png'))
        assert labels.shape == size and labels.dtype == np.uint8
        assert set(np.unique(labels)) <= {0, 1, *standin.ADE_SHAPE_IDS}
        background = np.ones(size, bool)
        for category, mask in _masks(coco, i, size):
            inner = np.asarray(mask.filter(ImageFilter.MinFilter(5)), bool)
            assert inner.sum() > 10
            assert (labels[inner] == to_ade[category]).all()
            assert pixels[inner].std(axis=0).max() < 20, 'a shape is one colour'
            background &= ~np.asarray(mask.filter(ImageFilter.MaxFilter(5)), bool)
        assert (labels[background] == 1).all(), 'wall around the shapes'


def test_imagenet_layout_and_labels(out):
    synsets = dict((label, synset) for synset, label in standin.IMAGENET_SHAPE_CLASSES)
    for split, count in (('train', 3), ('val', 2)):
        lines = (out / 'imagenet/meta' / f'{split}.txt').read_text().splitlines()
        assert len(lines) == count
        for n, line in enumerate(lines, 1):
            rel, label = line.split(' ')
            assert int(label) in synsets
            expected = (f'{synsets[int(label)]}/{synsets[int(label)]}_{n}.JPEG' if split == 'train'
                        else f'ILSVRC2012_val_{n:08d}.JPEG')
            assert rel == expected and (out / 'imagenet' / split / rel).is_file()


def test_overrides_reach_wrapped_data_sets_and_evaluators(tmp_path):
    coco = dict(type='mmdet.CocoDataset', data_root='data/coco/')
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=3, dataset=coco)),
        val_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[coco, coco])),
        test_dataloader=dict(dataset=coco),
        val_evaluator=[dict(type='Accuracy'), dict(type='CocoMetric', ann_file='x.json')],
        test_evaluator=dict(type='CocoMetric', ann_file='x.json')))
    before = copy.deepcopy(cfg.to_dict())
    overrides = standin_overrides(cfg, str(tmp_path))
    assert cfg.to_dict() == before, 'the config is left unchanged'
    root, ann = standin_root('coco', str(tmp_path)), str(
        tmp_path / 'coco/annotations/instances_val2017.json')
    assert overrides == {
        'train_dataloader.dataset.dataset.data_root': root,
        'val_dataloader.dataset.datasets.0.data_root': root,
        'val_dataloader.dataset.datasets.1.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.1.ann_file': ann,
        'test_evaluator.ann_file': ann,
    }
    cfg.merge_from_dict(overrides)
    assert cfg.val_dataloader.dataset.datasets[1].data_root == root
    assert cfg.val_evaluator[1].ann_file == ann and cfg.val_evaluator[0] == dict(type='Accuracy')

    # the demos' generated data set is written small under the same folder
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='ShapesCocoDataset')),
                      val_dataloader=dict(dataset=dict(type='ShapesCocoDataset')),
                      val_evaluator=dict(type='CocoMetric', ann_file='x/annotations/val.json')))
    shapes = standin.standin_overrides(cfg, str(tmp_path))
    assert shapes['train_dataloader.dataset.data_root'] == str(
        tmp_path / 'shapes/ShapesCocoDataset') + '/'
    assert shapes['train_dataloader.dataset.generate.splits'] == standin.SHAPES_SPLITS
    assert shapes['val_evaluator.ann_file'] == str(
        tmp_path / 'shapes/ShapesCocoDataset/annotations/val.json')

    for dataset_type in ('CityscapesDataset', 'VOCDataset'):
        cfg = Config(dict(train_dataloader=dict(dataset=dict(type=dataset_type))))
        with pytest.raises(ValueError, match=f"'{dataset_type}'.*CocoDataset, ADE20KDataset, "
                                             f'ImageNet'):
            standin_overrides(cfg, str(tmp_path))


@pytest.mark.parametrize('config', ['det/fasternet_s_maskrcnn.py', 'seg/emo_1m_deeplabv3.py',
                                    'cls/fasternet_t0_in1k.py'])
def test_configs_read_the_standin_data(out, config):
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    cfg.merge_from_dict(standin_overrides(cfg, str(out)))
    init_default_scope(cfg.default_scope)
    registry = importlib.import_module(f'{cfg.default_scope}.registry').DATASETS
    for split, count in (('train', 3), ('val', 2), ('test', 2)):
        assert len(registry.build(cfg[f'{split}_dataloader'].dataset)) == count, split
    if cfg.default_scope == 'mmdet':  # the evaluators read the stand-in annotations
        for split in ('val', 'test'):
            with open(cfg[f'{split}_evaluator'].ann_file) as f:
                assert len(json.load(f)['images']) == 2
    sample = registry.build(cfg.train_dataloader.dataset)[0]['data_samples']
    if cfg.default_scope == 'mmdet':
        instances = sample.gt_instances
        assert len(instances) > 0 and len(instances.masks) == len(instances)
        assert set(instances.labels.tolist()) <= {32, 33, 73}  # sports ball, kite, book
    elif cfg.default_scope == 'mmseg':
        # The random crop may leave out the shapes, never the wall.
        values = set(sample.gt_sem_seg.data.unique().tolist())
        assert 0 in values and values <= {0, 41, 119, 149, 255}  # wall, box, ball, flag, other
    else:
        assert sample.gt_label.tolist()[0] in (0, 1, 2)
