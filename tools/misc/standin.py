"""Stand-in data in the folder layouts of COCO, ADE20K and ImageNet.

The papers' configs (``configs/det``, ``configs/seg``, ``configs/cls``) read
COCO 2017, ADE20K and ImageNet-1k. Without them, the functions here write a
few images of the shapes data set (:func:`mmplug.datasets.shapes.shapes_image`:
circles, squares and triangles on textured backgrounds) in the real data
sets' layouts, file names and label conventions, so that every config runs
with only its data roots (and COCO's evaluator) pointed at them
(:func:`standin_overrides`). The numbers mean nothing; the data only lets a
config's data sets, pipelines, models and evaluators run end to end.

Under ``out``::

    coco/annotations/instances_{train,val}2017.json
    coco/{train,val}2017/000000000001.jpg ...
    ade/ADEChallengeData2016/images/{training,validation}/ADE_{train,val}_00000001.jpg ...
    ade/ADEChallengeData2016/annotations/{training,validation}/ADE_{train,val}_00000001.png ...
    imagenet/train/n01440764/n01440764_1.JPEG ...
    imagenet/val/ILSVRC2012_val_00000001.JPEG ...
    imagenet/meta/{train,val}.txt

How the shapes map onto the real classes:

======== ===================== ====================== =========================
shape    COCO category (id)    ADE20K class (value)   ImageNet class (label)
======== ===================== ====================== =========================
circle   sports ball (37)      ball (120)             n01440764 tench (0)
square   book (84)             box (42)               n01443537 goldfish (1)
triangle kite (38)             flag (150)             n01484850 great white
                                                      shark (2)
======== ===================== ====================== =========================

ADE20K's background is wall (1), and each shape's one-pixel outline is 0
("other", ignored once ``reduce_zero_label`` makes it 255), so the labels
the models see are 0 (wall), 41, 119 and 149 (and 255). Each ImageNet image
holds one shape, whose class is the image's label.

The writers are deterministic: the same arguments give the same files. Each
split has its own random stream (``seed``, split), so the validation images
do not depend on the number of training images, and the COCO and ADE20K
sets written with the same arguments show the same scenes.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from PIL import Image, ImageDraw

from mmplug.datasets.shapes import shapes_image

#: Kinds of stand-in data, as the command's flags name them.
KINDS = ('coco', 'ade', 'imagenet')
#: The data set type of the configs each kind stands in for.
DATASET_KINDS = {'CocoDataset': 'coco', 'ADE20KDataset': 'ade', 'ImageNet': 'imagenet'}
#: Data sets that generate themselves (the demos'): they are written small
#: into ``<out>/shapes/<type>/`` instead, ``SHAPES_SPLITS`` images per split.
GENERATED = ('ShapesCocoDataset', 'ShapesSegDataset')
SHAPES_SPLITS = dict(train=4, val=2)
#: (height, width) of the images; the configs' pipelines resize them.
IMAGE_SIZE = (96, 128)
_MARKER = 'mmplug_standin.json'
_JPEG_QUALITY = 90

#: COCO 2017's 80 categories, (id, name, supercategory), in COCO's order.
COCO_CATEGORIES = tuple(
    (int(i), name, sup) for sup, pairs in (
        ('person', '1 person'),
        ('vehicle', '2 bicycle|3 car|4 motorcycle|5 airplane|6 bus|7 train|8 truck|9 boat'),
        ('outdoor', '10 traffic light|11 fire hydrant|13 stop sign|14 parking meter|15 bench'),
        ('animal', '16 bird|17 cat|18 dog|19 horse|20 sheep|21 cow|22 elephant|23 bear|'
                   '24 zebra|25 giraffe'),
        ('accessory', '27 backpack|28 umbrella|31 handbag|32 tie|33 suitcase'),
        ('sports', '34 frisbee|35 skis|36 snowboard|37 sports ball|38 kite|39 baseball bat|'
                   '40 baseball glove|41 skateboard|42 surfboard|43 tennis racket'),
        ('kitchen', '44 bottle|46 wine glass|47 cup|48 fork|49 knife|50 spoon|51 bowl'),
        ('food', '52 banana|53 apple|54 sandwich|55 orange|56 broccoli|57 carrot|58 hot dog|'
                 '59 pizza|60 donut|61 cake'),
        ('furniture', '62 chair|63 couch|64 potted plant|65 bed|67 dining table|70 toilet'),
        ('electronic', '72 tv|73 laptop|74 mouse|75 remote|76 keyboard|77 cell phone'),
        ('appliance', '78 microwave|79 oven|80 toaster|81 sink|82 refrigerator'),
        ('indoor', '84 book|85 clock|86 vase|87 scissors|88 teddy bear|89 hair drier|'
                   '90 toothbrush'),
    ) for i, name in (pair.split(' ', 1) for pair in pairs.split('|')))
#: COCO category id of each shape (circle, square, triangle).
COCO_SHAPE_IDS = (37, 84, 38)
#: ADE20K label value of the background and of each shape.
ADE_BACKGROUND = 1
ADE_SHAPE_IDS = (120, 42, 150)
#: ImageNet synset folder and label of each shape.
IMAGENET_SHAPE_CLASSES = (('n01440764', 0), ('n01443537', 1), ('n01484850', 2))


def _scenes(seed: int, split: int, count: int, size: Sequence[int],
            max_shapes: int) -> Iterator[tuple]:
    """``count`` shapes images (:func:`shapes_image`) of one split's stream."""
    rng = np.random.default_rng([seed, split])
    for _ in range(count):
        yield shapes_image(rng, (int(size[0]), int(size[1])), max_shapes)


def _save_jpeg(img: Image.Image, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img.save(path, quality=_JPEG_QUALITY)


def _write_atomically(root: str, params: dict, fill: Callable[[str], None]) -> str:
    """Write a data set into a temporary folder with ``fill`` and move it to
    ``root``, replacing an earlier stand-in set there (never anything else:
    real data stays untouched)."""
    root = osp.abspath(root)
    if osp.exists(root) and not osp.isfile(osp.join(root, _MARKER)):
        raise FileExistsError(f'{root} exists and is not mmplug stand-in data (no {_MARKER}); '
                              f'choose another output folder')
    os.makedirs(osp.dirname(root), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.standin-', dir=osp.dirname(root))
    try:
        fill(tmp)
        with open(osp.join(tmp, _MARKER), 'w') as f:
            json.dump(params, f, sort_keys=True)
        if osp.exists(root):
            shutil.rmtree(root)
        os.rename(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def write_coco(out: str, train: int = 8, val: int = 4, seed: int = 0,
               image_size: Sequence[int] = IMAGE_SIZE, max_shapes: int = 4) -> str:
    """Write stand-in COCO 2017 instance data under ``out/coco``.

    The annotation files have COCO's 80 categories (:data:`COCO_CATEGORIES`)
    and polygon masks, boxes (x, y, w, h) and areas of the shapes, which are
    sports balls (circles, 37), books (squares, 84) and kites (triangles,
    38). Images are named by their id, as COCO's (``000000000001.jpg``).

    Args:
        out: Folder of the stand-in data.
        train: Number of images in train2017.
        val: Number of images in val2017.
        seed: Random seed.
        image_size: (height, width) of every image.
        max_shapes: Most shapes in one image (at least one in each).

    Returns:
        str: The data root, ``out/coco``.
    """
    params = dict(kind='coco', train=train, val=val, seed=seed,
                  image_size=list(image_size), max_shapes=max_shapes)
    categories = [dict(id=i, name=name, supercategory=sup) for i, name, sup in COCO_CATEGORIES]

    def fill(root: str) -> None:
        os.makedirs(osp.join(root, 'annotations'))
        for k, (split, count) in enumerate((('train2017', train), ('val2017', val))):
            images, annotations = [], []
            for i, (img, anns, _) in enumerate(_scenes(seed, k, count, image_size, max_shapes)):
                image = dict(id=i + 1, file_name=f'{i + 1:012d}.jpg', height=int(image_size[0]),
                             width=int(image_size[1]))
                _save_jpeg(img, osp.join(root, split, image['file_name']))
                images.append(image)
                for ann in anns:
                    annotations.append(dict(
                        ann, id=len(annotations) + 1, image_id=image['id'],
                        category_id=COCO_SHAPE_IDS[ann['category_id'] - 1]))
            coco = dict(info=dict(description=f'mmplug stand-in for COCO {split} (shapes)'),
                        licenses=[], images=images, annotations=annotations,
                        categories=categories)
            with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
                json.dump(coco, f)

    return _write_atomically(osp.join(out, 'coco'), params, fill)


def ade_label_map(anns: List[dict], label_map: Image.Image) -> Image.Image:
    """The ADE20K label map of a shapes image: wall (1) as background, the
    shapes as :data:`ADE_SHAPE_IDS`, their outlines 0 ("other").

    Args:
        anns: The image's annotations from :func:`shapes_image`.
        label_map: Its label map from :func:`shapes_image`.

    Returns:
        PIL.Image.Image: The label map, mode ``'L'``.
    """
    lut = np.array((ADE_BACKGROUND, ) + ADE_SHAPE_IDS, np.uint8)
    ade = Image.fromarray(lut[np.asarray(label_map)])
    draw = ImageDraw.Draw(ade)
    for ann in anns:
        draw.polygon(ann['segmentation'][0], outline=0)
    return ade


def write_ade(out: str, train: int = 8, val: int = 4, seed: int = 0,
              image_size: Sequence[int] = IMAGE_SIZE, max_shapes: int = 4) -> str:
    """Write stand-in ADE20K (SceneParsing, 150 classes) data under
    ``out/ade/ADEChallengeData2016``.

    Label maps take ADE20K's values (0 "other", 1..150 the classes), made by
    :func:`ade_label_map`: wall (1) background, balls (circles, 120), boxes
    (squares, 42) and flags (triangles, 150), outlines 0.

    Args:
        out: Folder of the stand-in data.
        train: Number of images in training.
        val: Number of images in validation.
        seed: Random seed.
        image_size: (height, width) of every image.
        max_shapes: Most shapes in one image (at least one in each).

    Returns:
        str: The data root, ``out/ade/ADEChallengeData2016``.
    """
    params = dict(kind='ade', train=train, val=val, seed=seed,
                  image_size=list(image_size), max_shapes=max_shapes)

    def fill(root: str) -> None:
        base = osp.join(root, 'ADEChallengeData2016')
        for k, (split, tag, count) in enumerate((('training', 'train', train),
                                                 ('validation', 'val', val))):
            os.makedirs(osp.join(base, 'images', split))
            os.makedirs(osp.join(base, 'annotations', split))
            scenes = _scenes(seed, k, count, image_size, max_shapes)
            for i, (img, anns, label_map) in enumerate(scenes):
                name = f'ADE_{tag}_{i + 1:08d}'
                _save_jpeg(img, osp.join(base, 'images', split, name + '.jpg'))
                ade_label_map(anns, label_map).save(
                    osp.join(base, 'annotations', split, name + '.png'))

    _write_atomically(osp.join(out, 'ade'), params, fill)
    return standin_root('ade', out)


def write_imagenet(out: str, train: int = 8, val: int = 4, seed: int = 0,
                   image_size: Sequence[int] = IMAGE_SIZE) -> str:
    """Write stand-in ImageNet-1k data under ``out/imagenet``, laid out as
    mmpretrain's ``ImageNet`` reads it with ``split='train'``/``'val'``:
    class folders of synsets in ``train``, a flat ``val`` and the lists
    ``meta/{train,val}.txt`` (``path label`` lines, paths relative to the
    split's folder).

    Each image holds one shape; circles are class 0 (n01440764), squares 1
    (n01443537), triangles 2 (n01484850) of the 1000.

    Args:
        out: Folder of the stand-in data.
        train: Number of images in train.
        val: Number of images in val.
        seed: Random seed.
        image_size: (height, width) of every image.

    Returns:
        str: The data root, ``out/imagenet``.
    """
    params = dict(kind='imagenet', train=train, val=val, seed=seed,
                  image_size=list(image_size))

    def fill(root: str) -> None:
        os.makedirs(osp.join(root, 'meta'))
        for k, (split, count) in enumerate((('train', train), ('val', val))):
            lines = []
            for i, (img, anns, _) in enumerate(_scenes(seed, k, count, image_size, 1)):
                synset, label = IMAGENET_SHAPE_CLASSES[anns[0]['category_id'] - 1]
                rel = (f'{synset}/{synset}_{i + 1}.JPEG' if split == 'train'
                       else f'ILSVRC2012_val_{i + 1:08d}.JPEG')
                _save_jpeg(img, osp.join(root, split, rel))
                lines.append(f'{rel} {label}\n')
            os.makedirs(osp.join(root, split), exist_ok=True)  # also when empty
            with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
                f.writelines(lines)

    return _write_atomically(osp.join(out, 'imagenet'), params, fill)


def write_standin(out: str, kinds: Sequence[str] = KINDS, train: int = 8, val: int = 4,
                  seed: int = 0) -> Dict[str, str]:
    """Write the stand-in data sets of ``kinds`` under ``out``.

    Args:
        out: Folder of the stand-in data.
        kinds: Which of :data:`KINDS` to write.
        train: Number of training images of each.
        val: Number of validation images of each.
        seed: Random seed.

    Returns:
        dict: The data root of each kind written.

    Raises:
        ValueError: A kind is not one of :data:`KINDS`.
    """
    writers = dict(coco=write_coco, ade=write_ade, imagenet=write_imagenet)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f'unknown stand-in data {sorted(unknown)}; choose from {KINDS}')
    return {kind: writers[kind](out, train=train, val=val, seed=seed) for kind in kinds}


def standin_root(kind: str, out: str) -> str:
    """The absolute ``data_root`` of the stand-in data ``kind`` under ``out``.

    Args:
        kind: One of :data:`KINDS`.
        out: Folder of the stand-in data.
    """
    parts = dict(coco=('coco', ), ade=('ade', 'ADEChallengeData2016'), imagenet=('imagenet', ))
    return osp.join(osp.abspath(out), *parts[kind])


def _kind(dataset_type) -> str:
    """The stand-in kind of a data set type (a registry name, scoped or not,
    or a class)."""
    name = dataset_type if isinstance(dataset_type, str) else getattr(
        dataset_type, '__name__', repr(dataset_type))
    name = name.split('.')[-1]
    if name not in DATASET_KINDS:
        raise ValueError(f'no stand-in data for data set type {name!r}; '
                         f'supported: {", ".join(DATASET_KINDS)}')
    return DATASET_KINDS[name]


def _leaves(dataset: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """(key, config) of the leaf data sets of a possibly wrapped
    (``dataset``) or concatenated (``datasets``) data set config."""
    if 'datasets' in dataset:
        for i, child in enumerate(dataset['datasets']):
            yield from _leaves(child, f'{key}.datasets.{i}')
    elif 'dataset' in dataset:
        yield from _leaves(dataset['dataset'], f'{key}.dataset')
    else:
        yield key, dataset


def _shapes_root(out: str, dataset_type: str) -> str:
    return osp.join(osp.abspath(out), 'shapes', dataset_type) + '/'


def _coco_val_ann(out: str) -> str:
    return osp.join(standin_root('coco', out), 'annotations', 'instances_val2017.json')


def default_overrides(kind: str, out: str) -> Dict[str, str]:
    """The overrides that point a config whose dataloaders hold their data
    sets directly (as the configs in ``configs/`` do) at stand-in data
    ``kind``, e.g. for ``--cfg-options``.

    Args:
        kind: One of :data:`KINDS`.
        out: Folder of the stand-in data.
    """
    overrides = {f'{loader}_dataloader.dataset.data_root': standin_root(kind, out)
                 for loader in ('train', 'val', 'test')}
    if kind == 'coco':
        overrides.update({f'{split}_evaluator.ann_file': _coco_val_ann(out)
                          for split in ('val', 'test')})
    return overrides


def standin_overrides(config: Config, out: str) -> Dict[str, str]:
    """The ``--cfg-options``-style overrides (key -> value, for
    ``Config.merge_from_dict``) that point a config at the stand-in data
    under ``out``.

    Every leaf data set of the train, val and test dataloaders (through
    wrappers such as ``RepeatDataset`` and ``ConcatDataset``) gets the
    ``data_root`` of the stand-in data of its type (:data:`DATASET_KINDS`);
    its ``ann_file`` and ``data_prefix``, relative to that root in the
    libraries' base configs, stay. The val and test evaluators of COCO data
    (``CocoMetric``, alone or in a list) read the stand-in
    ``instances_val2017.json``. Missing or ``None`` dataloaders are skipped.
    Data sets that generate themselves (:data:`GENERATED`, the demos') are
    generated small (:data:`SHAPES_SPLITS`) into ``<out>/shapes/<type>/``.

    Args:
        config: A loaded config (left unchanged).
        out: Folder of the stand-in data (:func:`write_standin`).

    Returns:
        dict: The overrides; paths are absolute.

    Raises:
        ValueError: A data set's type has no stand-in data; the message names
            it and the supported types.
    """
    overrides = {}
    for split in ('train', 'val', 'test'):
        loader = config.get(f'{split}_dataloader')
        if not loader:
            continue
        kinds = set()
        for key, leaf in _leaves(loader['dataset'], f'{split}_dataloader.dataset'):
            name = str(leaf.get('type')).split('.')[-1]
            if name in GENERATED:
                kinds.add('shapes')
                overrides[f'{key}.data_root'] = _shapes_root(out, name)
                overrides[f'{key}.generate.splits'] = dict(SHAPES_SPLITS)
                continue
            kind = _kind(leaf.get('type'))
            kinds.add(kind)
            overrides[f'{key}.data_root'] = standin_root(kind, out)
        evaluator = config.get(f'{split}_evaluator')
        if kinds == {'shapes'} and evaluator:
            for i, metric in enumerate(evaluator if isinstance(evaluator, list) else [evaluator]):
                if 'ann_file' in metric:
                    index = f'.{i}' if isinstance(evaluator, list) else ''
                    overrides[f'{split}_evaluator{index}.ann_file'] = osp.join(
                        _shapes_root(out, 'ShapesCocoDataset'), 'annotations', 'val.json')
        if kinds == {'coco'} and evaluator:
            metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
            for i, metric in enumerate(metrics):
                if 'ann_file' in metric:
                    index = f'.{i}' if isinstance(evaluator, (list, tuple)) else ''
                    overrides[f'{split}_evaluator{index}.ann_file'] = _coco_val_ann(out)
    return overrides


__all__ = [
    'ADE_BACKGROUND', 'ADE_SHAPE_IDS', 'COCO_CATEGORIES', 'COCO_SHAPE_IDS',
    'DATASET_KINDS', 'IMAGENET_SHAPE_CLASSES', 'IMAGE_SIZE', 'KINDS', 'ade_label_map',
    'default_overrides', 'standin_overrides', 'standin_root', 'write_ade', 'write_coco',
    'write_imagenet', 'write_standin'
]
