"""From image files to the graph's inputs, as OpenMMLab's test pipelines and
data preprocessors compute them.

The transforms are those of the config's test pipeline that change the image
(``deploy.json``'s ``preprocess.pipeline``), each computed as the library
computes it: mmcv's ``LoadImageFromFile`` (OpenCV decoding, BGR), mmcv's
``Resize`` (which mmdet's and mmseg's are: ``scale`` is (w, h), and with
``keep_ratio`` the image is scaled by one factor to fit the scale's long and
short sides), mmpretrain's ``ResizeEdge``, mmcv's ``CenterCrop`` and mmseg's
``ResizeToMultiple``. Resizing is OpenCV's or Pillow's, with the new size
rounded as mmcv rounds it. Then the data preprocessor's steps: BGR to RGB,
``(x - mean) / std`` in float32, and padding at the bottom and right with
``pad_value`` to the batch's size.
"""
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image

ImageLike = Union[str, Path, np.ndarray]

CV2_INTERPOLATION = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR,
                     'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA,
                     'lanczos': cv2.INTER_LANCZOS4}
PILLOW_INTERPOLATION = {'nearest': Image.Resampling.NEAREST,
                        'bilinear': Image.Resampling.BILINEAR,
                        'bicubic': Image.Resampling.BICUBIC, 'box': Image.Resampling.BOX,
                        'lanczos': Image.Resampling.LANCZOS,
                        'hamming': Image.Resampling.HAMMING}
INTERPOLATION = {'cv2': CV2_INTERPOLATION, 'pillow': PILLOW_INTERPOLATION}
#: mmcv's ``color_type`` values that give a 3-channel BGR image.
COLOR_FLAGS = {'color': cv2.IMREAD_COLOR,
               'color_ignore_orientation': cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION}


@dataclass
class ImageMeta:
    """Where one image of a batch came from.

    Attributes:
        ori_shape: (height, width) of the image as read.
        img_shape: (height, width) after the pipeline, before padding.
        scale_factor: (w_scale, h_scale) of the pipeline's last resize: the
            resized size over the size before it (1, 1 without one).
    """

    ori_shape: Tuple[int, int]
    img_shape: Tuple[int, int]
    scale_factor: Tuple[float, float] = (1.0, 1.0)


@dataclass
class Batch:
    """The graph's inputs for a list of images, and their metadata.

    Attributes:
        image: (N, 3, H, W) float32, converted, normalized and padded.
        img_shape: (N, 2) float32, each image's (height, width) in ``image``.
        metas: One :class:`ImageMeta` per image.
    """

    image: np.ndarray
    img_shape: np.ndarray
    metas: List[ImageMeta]

    def feeds(self, names: Sequence[str]) -> Dict[str, np.ndarray]:
        """The inputs a graph with input ``names`` takes (classifiers take
        only ``image``)."""
        return {name: getattr(self, name) for name in names}


# ------------------------------------------------------------------ reading
def read_image(path: Union[str, Path], color_type: str = 'color',
               imdecode_backend: str = 'cv2', to_float32: bool = False) -> np.ndarray:
    """An image file as mmcv's ``LoadImageFromFile`` reads it: decoded by
    OpenCV from the file's bytes, BGR, (H, W, 3) uint8 (float32 with
    ``to_float32``).

    Args:
        path: The image file.
        color_type: ``'color'`` or ``'color_ignore_orientation'``.
        imdecode_backend: ``'cv2'``, the only one supported.
        to_float32: Convert to float32, as the transform's option does.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for an unsupported option, or a file OpenCV cannot decode.
    """
    if color_type not in COLOR_FLAGS:
        raise ValueError(f'LoadImageFromFile color_type {color_type!r}; supported: '
                         f'{", ".join(COLOR_FLAGS)}')
    if imdecode_backend != 'cv2':
        raise ValueError(f'LoadImageFromFile imdecode_backend {imdecode_backend!r}; '
                         f'supported: cv2')
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image {str(path)!r} not found')
    img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), COLOR_FLAGS[color_type])
    if img is None:
        raise ValueError(f'{str(path)!r} is no image OpenCV can decode')
    return img.astype(np.float32) if to_float32 else img


# ----------------------------------------------------------------- resizing
def scaled_size(size: Tuple[int, int], factor: float) -> Tuple[int, int]:
    """``size`` (w, h) times ``factor``, each side rounded half up as mmcv
    rounds it."""
    return int(size[0] * float(factor) + 0.5), int(size[1] * float(factor) + 0.5)


def keep_ratio_size(size: Tuple[int, int], scale: Sequence[int]) -> Tuple[int, int]:
    """The size (w, h) of an image of ``size`` scaled by one factor, as large
    as fits ``scale``: its long side at most the scale's long side, its short
    side at most the scale's short side (mmcv's ``rescale_size``)."""
    w, h = size
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return scaled_size((w, h), factor)


def resize(img: np.ndarray, size: Tuple[int, int], interpolation: str = 'bilinear',
           backend: str = 'cv2') -> np.ndarray:
    """``img`` resized to ``size`` (w, h) by OpenCV or Pillow.

    Raises:
        ValueError: for an unknown backend or interpolation.
    """
    if backend not in INTERPOLATION:
        raise ValueError(f'resize backend {backend!r}; supported: {", ".join(INTERPOLATION)}')
    if interpolation not in INTERPOLATION[backend]:
        raise ValueError(f'{backend} interpolation {interpolation!r}; supported: '
                         f'{", ".join(INTERPOLATION[backend])}')
    size = (int(size[0]), int(size[1]))
    if backend == 'cv2':
        return cv2.resize(img, size, interpolation=INTERPOLATION[backend][interpolation])
    if img.dtype != np.uint8:
        raise ValueError('the pillow resize backend takes uint8 images only')
    # Pillow takes the BGR array as RGB: each channel is resized on its own.
    resized = Image.fromarray(img).resize(size, INTERPOLATION[backend][interpolation])
    return np.asarray(resized)


# --------------------------------------------------------------- transforms
def _resize(img: np.ndarray, meta: Dict[str, Any], scale, keep_ratio: bool = False,
            interpolation: str = 'bilinear', backend: str = 'cv2',
            clip_object_border: bool = True) -> np.ndarray:
    """mmcv's ``Resize`` (mmdet's, mmseg's) with ``scale`` (w, h) or one int
    for both; ``clip_object_border`` concerns boxes only."""
    scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
    h, w = img.shape[:2]
    size = keep_ratio_size((w, h), scale) if keep_ratio else scale
    out = resize(img, size, interpolation, backend)
    meta['scale_factor'] = (out.shape[1] / w, out.shape[0] / h)
    return out


def _resize_edge(img: np.ndarray, meta: Dict[str, Any], scale: int, edge: str = 'short',
                 backend: str = 'cv2', interpolation: str = 'bilinear') -> np.ndarray:
    """mmpretrain's ``ResizeEdge``: one edge (``'short'``, ``'long'``,
    ``'width'``, ``'height'``) to ``scale``, the other in proportion,
    truncated."""
    edges = ('short', 'long', 'width', 'height')
    if edge not in edges:
        raise ValueError(f'ResizeEdge edge {edge!r}; choose one of {", ".join(edges)}')
    h, w = img.shape[:2]
    if (edge == 'short' and w < h) or (edge == 'long' and w > h) or edge == 'width':
        size = (scale, int(scale * h / w))
    else:
        size = (int(scale * w / h), scale)
    out = resize(img, size, interpolation, backend)
    meta['scale_factor'] = (size[0] / w, size[1] / h)
    return out


def _center_crop(img: np.ndarray, meta: Dict[str, Any], crop_size,
                 auto_pad: bool = False) -> np.ndarray:
    """mmcv's ``CenterCrop`` with ``crop_size`` (w, h) or one int for both;
    an image smaller than the crop keeps that side whole."""
    if auto_pad:
        raise ValueError('CenterCrop auto_pad=True is not supported')
    crop_w, crop_h = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
    h, w = img.shape[:2]
    crop_h, crop_w = min(crop_h, h), min(crop_w, w)
    # Python's round, as mmcv's: halves go to the even neighbour.
    y0 = max(0, int(round((h - crop_h) / 2.)))
    x0 = max(0, int(round((w - crop_w) / 2.)))
    return img[y0:y0 + crop_h, x0:x0 + crop_w]


def _resize_to_multiple(img: np.ndarray, meta: Dict[str, Any], size_divisor: int = 32,
                        interpolation: Optional[str] = None) -> np.ndarray:
    """mmseg's ``ResizeToMultiple``: each side up to the next multiple of
    ``size_divisor`` (bilinear by default); it leaves ``scale_factor``."""
    h, w = img.shape[:2]
    size = (math.ceil(w / size_divisor) * size_divisor, math.ceil(h / size_divisor) * size_divisor)
    return resize(img, size, interpolation or 'bilinear', 'cv2')


#: The transforms that change the image, by their config ``type``.
TRANSFORMS: Dict[str, Callable[..., np.ndarray]] = {
    'Resize': _resize,
    'ResizeEdge': _resize_edge,
    'CenterCrop': _center_crop,
    'ResizeToMultiple': _resize_to_multiple,
}
#: ``LoadImageFromFile``'s options that matter here (the rest concern
#: file back ends and errors).
LOAD_OPTIONS = ('color_type', 'imdecode_backend', 'to_float32')


def check_pipeline(pipeline: Sequence[Dict[str, Any]]) -> None:
    """Check that every step is one this module computes, with options it
    knows (the config's other options would be silently ignored).

    Args:
        pipeline: ``preprocess.pipeline`` of deploy.json: ``LoadImageFromFile``
            first, then transforms of :data:`TRANSFORMS`.

    Raises:
        ValueError: naming the step or option and the supported ones.
    """
    if not pipeline or pipeline[0].get('type') != 'LoadImageFromFile':
        raise ValueError('the pipeline must start with LoadImageFromFile')
    for step in pipeline[1:]:
        kind = step.get('type')
        if kind not in TRANSFORMS:
            raise ValueError(f'transform {kind!r} is not supported by mmplug_runtime; '
                             f'supported: LoadImageFromFile, {", ".join(TRANSFORMS)}')
        params = list(inspect.signature(TRANSFORMS[kind]).parameters.values())[2:]
        known = [p.name for p in params]
        unknown = sorted(set(step) - set(known) - {'type'})
        if unknown:
            raise ValueError(f'{kind} option(s) {", ".join(unknown)} not supported; '
                             f'supported: {", ".join(known)}')
        required = [p.name for p in params if p.default is inspect.Parameter.empty]
        missing = [name for name in required if step.get(name) is None]
        if missing:
            raise ValueError(f'{kind} needs {", ".join(missing)}')


def apply_pipeline(img: np.ndarray,
                   pipeline: Sequence[Dict[str, Any]]) -> Tuple[np.ndarray, ImageMeta]:
    """Run the transforms of ``pipeline`` (its ``LoadImageFromFile`` is
    skipped: ``img`` is read already) on one image.

    Returns:
        The transformed image and its :class:`ImageMeta`.
    """
    ori_shape = img.shape[:2]
    state: Dict[str, Any] = {'scale_factor': (1.0, 1.0)}
    for step in pipeline:
        kind = step['type']
        if kind != 'LoadImageFromFile':
            options = {k: v for k, v in step.items() if k != 'type'}
            img = TRANSFORMS[kind](img, state, **options)
    return img, ImageMeta(tuple(ori_shape), tuple(img.shape[:2]), state['scale_factor'])


# ------------------------------------------------------------------ batching
def normalize(img: np.ndarray, mean: Optional[Sequence[float]], std: Optional[Sequence[float]],
              bgr_to_rgb: bool) -> np.ndarray:
    """One (H, W, 3) image as the data preprocessor makes it, (3, H, W)
    float32: channels reversed with ``bgr_to_rgb``, then ``(x - mean) / std``
    in float32 (neither when ``mean`` is None)."""
    if bgr_to_rgb:
        img = img[..., ::-1]
    x = img.astype(np.float32)
    if mean is not None:
        x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def padded_size(shapes: Sequence[Tuple[int, int]], pad_size_divisor: Optional[int],
               pad_size: Optional[Sequence[int]]) -> Tuple[int, int]:
    """The (height, width) of a batch of images of ``shapes``.

    Args:
        shapes: Each image's (height, width).
        pad_size_divisor: Pad to the largest height and width rounded up to a
            multiple of it (mmdet, mmpretrain, mmseg's ``test_cfg``); None
            with no ``pad_size``: no padding.
        pad_size: Pad each image to this (height, width) (mmseg's
            ``test_cfg.size``).

    Raises:
        ValueError: when images of different sizes are not padded.
    """
    heights, widths = zip(*shapes)
    if pad_size is not None:
        return max(pad_size[0], *heights), max(pad_size[1], *widths)
    if pad_size_divisor is None:
        if len(set(shapes)) > 1:
            raise ValueError(f'images of sizes {sorted(set(shapes))} in one batch: this model '
                             f'pads none, so the images of a batch must have one size')
        return shapes[0]
    d = pad_size_divisor
    return math.ceil(max(heights) / d) * d, math.ceil(max(widths) / d) * d


def preprocess(images: Sequence[ImageLike], spec: Dict[str, Any]) -> Batch:
    """The batch of ``images`` as the graph takes it.

    Args:
        images: Image files, or images already read (BGR, as
            :func:`read_image` gives them).
        spec: deploy.json's ``preprocess`` entry: ``pipeline``, ``mean``,
            ``std``, ``bgr_to_rgb``, ``pad_size_divisor``, ``pad_size``,
            ``pad_value``.
    """
    pipeline = spec['pipeline']
    check_pipeline(pipeline)
    load = {k: v for k, v in pipeline[0].items() if k in LOAD_OPTIONS}
    arrays, metas = [], []
    for image in images:
        img = image if isinstance(image, np.ndarray) else read_image(image, **load)
        img, meta = apply_pipeline(img, pipeline)
        arrays.append(normalize(img, spec.get('mean'), spec.get('std'),
                                spec.get('bgr_to_rgb', False)))
        metas.append(meta)
    height, width = padded_size([m.img_shape for m in metas], spec.get('pad_size_divisor'),
                                spec.get('pad_size'))
    batch = np.full((len(arrays), 3, height, width), spec.get('pad_value', 0), np.float32)
    for i, x in enumerate(arrays):
        batch[i, :, :x.shape[1], :x.shape[2]] = x
    img_shape = np.array([m.img_shape for m in metas], np.float32)
    return Batch(batch, img_shape, metas)
