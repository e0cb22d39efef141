"""The papers' figures for each config, which ``tools/analysis/claims.py``
checks the configs against (and writes into ``docs/model_zoo.md``).

``PAPER`` maps a config (path under ``configs/``, without ``.py``) to what its
paper (or official repository) reports: parameters in millions, FLOPs in
G multiply-accumulates at the input size the paper counts at, the result
with the protocol it was tested with, and where the figures are printed.
``None`` where the source gives no figure.
"""
import re
from typing import Dict, NamedTuple, Optional, Tuple

#: How a result was tested: the start of :attr:`PaperFigures.protocol`.
SINGLE_SCALE = 'single scale'
MULTI_SCALE_FLIP = 'multi-scale + flip'


class PaperFigures(NamedTuple):
    """What a paper (or official repository) reports for one model.

    ``protocol`` says how ``result`` was tested: :data:`SINGLE_SCALE` (as the
    config tests, and validates while training) or :data:`MULTI_SCALE_FLIP`
    (``tools/test.py CONFIG CKPT --tta``), then the test size.
    ``ms_flip_result`` is a multi-scale + flip result (:data:`ADE_MS_FLIP`)
    the same source gives beside a single-scale ``result``.
    """
    params_m: float
    flops_g: Optional[float]
    result: str
    source: str
    size: Tuple[int, int]  # (H, W) the FLOPs are counted at
    protocol: str
    ms_flip_result: Optional[str] = None

    @property
    def multi_scale(self) -> bool:
        """Whether ``result`` is multi-scale + flip, which the validation
        during training (single scale) is not comparable with."""
        return self.protocol.startswith(MULTI_SCALE_FLIP)

    def described(self) -> str:
        """The results with their protocols, e.g. ``'mIoU 46.0 (single scale,
        ...); mIoU 46.7 (multi-scale + flip, ...)'``."""
        text = f'{self.result} ({self.protocol})'
        if self.ms_flip_result:
            text += f'; {self.ms_flip_result} ({ADE_MS_FLIP})'
        return text


# Input sizes of the papers' FLOP counts (H, W).
IMAGENET = (224, 224)
COCO = (800, 1280)
SSD = (320, 320)
ADE_UPERNET = (512, 2048)
ADE = (512, 512)

_FASTERNET_CLS = 'FasterNet README (official repo), Pre-trained Models'
_FASTERNET = 'FasterNet (CVPR 2023), Table 4'
_CONVNEXT_CLS = 'ConvNeXt README (official repo), ImageNet-1K trained models'
_CONVNEXT_DET = 'ConvNeXt (CVPR 2022), Table 3'
_CONVNEXT_SEG = ('ConvNeXt README (official repo), semantic_segmentation; '
                 'the multi-scale + flip figure also Table 4 of the paper')
_INX_CLS = 'InceptionNeXt README (official repo), Models'
_INX_UPERNET = 'InceptionNeXt (CVPR 2024), Table 6'
_INX_FPN = 'InceptionNeXt (CVPR 2024), Table 7'
_EMO_CLS = 'EMO README (official repo), Main results'
_EMO_DET = 'EMO (ICCV 2023), Table 5'
_EMO_SEG = 'EMO (ICCV 2023), Table 6'


# The protocols of the results (after SINGLE_SCALE or MULTI_SCALE_FLIP: the
# test size, and how a segmentor infers).
IMAGENET_TEST = f'{SINGLE_SCALE}, 224x224 center crop'
COCO_TEST = f'{SINGLE_SCALE}, 1333x800'
SSD_TEST = f'{SINGLE_SCALE}, 320x320'
ADE_SLIDE = f'{SINGLE_SCALE}, 2048x512, sliding 512x512 windows'
ADE_WHOLE = f'{SINGLE_SCALE}, 2048x512, whole image'
# The paper names no protocol for its Semantic FPN table; PoolFormer's
# Semantic FPN results, whose recipe the configs take, are single scale.
ADE_ALIGNED = f'{SINGLE_SCALE} (assumed), 2048x512 then to a multiple of 32, whole image'
ADE_MS_FLIP = f'{MULTI_SCALE_FLIP}, 2048x512 x 0.5 to 1.75, as mmseg 0.x --aug-test'


def _top1(acc: float) -> str:
    return f'top-1 {acc}'


def _cls(params_m: float, flops_g: Optional[float], acc: float, source: str) -> PaperFigures:
    return PaperFigures(params_m, flops_g, _top1(acc), source, IMAGENET, IMAGENET_TEST)


PAPER: Dict[str, PaperFigures] = {
    'cls/fasternet_t0_in1k': _cls(3.9, 0.34, 71.9, _FASTERNET_CLS),
    'cls/fasternet_t1_in1k': _cls(7.6, 0.85, 76.2, _FASTERNET_CLS),
    'cls/fasternet_t2_in1k': _cls(15.0, 1.90, 78.9, _FASTERNET_CLS),
    'cls/fasternet_s_in1k': _cls(31.1, 4.55, 81.3, _FASTERNET_CLS),
    'cls/fasternet_m_in1k': _cls(53.5, 8.72, 83.0, _FASTERNET_CLS),
    'cls/fasternet_l_in1k': _cls(93.4, 15.49, 83.5, _FASTERNET_CLS),
    'cls/convnext_t_in1k': _cls(28, 4.5, 82.1, _CONVNEXT_CLS),
    'cls/convnext_s_in1k': _cls(50, 8.7, 83.1, _CONVNEXT_CLS),
    'cls/convnext_b_in1k': _cls(89, 15.4, 83.8, _CONVNEXT_CLS),
    'cls/convnext_l_in1k': _cls(198, 34.4, 84.3, _CONVNEXT_CLS),
    'cls/convnext_xl_in1k': PaperFigures(
        350, 60.9, 'top-1 87.0 (ImageNet-22k pre-training only)',
        'ConvNeXt README (official repo), ImageNet-22K trained models', IMAGENET,
        IMAGENET_TEST),
    'cls/inceptionnext_a_in1k': _cls(4.2, None, 75.3, 'InceptionNeXt (CVPR 2024)'),
    'cls/inceptionnext_t_in1k': _cls(28, 4.2, 82.3, _INX_CLS),
    'cls/inceptionnext_s_in1k': _cls(49, 8.4, 83.5, _INX_CLS),
    'cls/inceptionnext_b_in1k': _cls(87, 14.9, 84.0, _INX_CLS),
    'cls/emo_1m_in1k': _cls(1.3, 0.261, 71.5, _EMO_CLS),
    'cls/emo_2m_in1k': _cls(2.3, 0.439, 75.1, _EMO_CLS),
    'cls/emo_5m_in1k': _cls(5.1, 0.903, 78.4, _EMO_CLS),
    'cls/emo_6m_in1k': _cls(6.1, 0.961, 79.0, _EMO_CLS),
    'det/fasternet_s_maskrcnn':
        PaperFigures(49.0, 258, 'box AP 39.9, mask AP 36.9', _FASTERNET, COCO, COCO_TEST),
    'det/fasternet_m_maskrcnn':
        PaperFigures(71.2, 344, 'box AP 43.0, mask AP 39.1', _FASTERNET, COCO, COCO_TEST),
    'det/fasternet_l_maskrcnn':
        PaperFigures(110.9, 484, 'box AP 44.0, mask AP 39.9', _FASTERNET, COCO, COCO_TEST),
    'det/convnext_t_maskrcnn_3x':
        PaperFigures(48, 262, 'box AP 46.2, mask AP 41.7', _CONVNEXT_DET, COCO, COCO_TEST),
    'det/convnext_t_cascade_maskrcnn_3x':
        PaperFigures(86, 741, 'box AP 50.4', _CONVNEXT_DET, COCO, COCO_TEST),
    'det/convnext_s_cascade_maskrcnn_3x':
        PaperFigures(108, 827, 'box AP 51.9', _CONVNEXT_DET, COCO, COCO_TEST),
    'det/convnext_b_cascade_maskrcnn_3x':
        PaperFigures(146, 964, 'box AP 52.7', _CONVNEXT_DET, COCO, COCO_TEST),
    'det/emo_1m_retinanet': PaperFigures(10.4, 163, 'AP 34.4', _EMO_DET, COCO, COCO_TEST),
    'det/emo_2m_retinanet': PaperFigures(11.5, 167, 'AP 36.2', _EMO_DET, COCO, COCO_TEST),
    'det/emo_5m_retinanet': PaperFigures(14.4, 178, 'AP 38.9', _EMO_DET, COCO, COCO_TEST),
    'det/emo_1m_ssdlite': PaperFigures(2.3, 0.6, 'AP 22.0', _EMO_DET, SSD, SSD_TEST),
    'det/emo_2m_ssdlite': PaperFigures(3.3, 0.9, 'AP 25.2', _EMO_DET, SSD, SSD_TEST),
    'det/emo_5m_ssdlite': PaperFigures(6.0, 1.8, 'AP 27.9', _EMO_DET, SSD, SSD_TEST),
    'seg/convnext_t_upernet':
        PaperFigures(60, 939, 'mIoU 46.0', _CONVNEXT_SEG, ADE_UPERNET,
                     ADE_SLIDE, 'mIoU 46.7'),
    'seg/convnext_s_upernet':
        PaperFigures(82, 1027, 'mIoU 48.7', _CONVNEXT_SEG, ADE_UPERNET,
                     ADE_SLIDE, 'mIoU 49.6'),
    'seg/convnext_b_upernet':
        PaperFigures(122, 1170, 'mIoU 49.1', _CONVNEXT_SEG, ADE_UPERNET,
                     ADE_SLIDE, 'mIoU 49.9'),
    'seg/inceptionnext_t_upernet':
        PaperFigures(56, 933, 'mIoU 47.9', _INX_UPERNET, ADE_UPERNET, ADE_MS_FLIP),
    'seg/inceptionnext_s_upernet':
        PaperFigures(78, 1020, 'mIoU 50.0', _INX_UPERNET, ADE_UPERNET, ADE_MS_FLIP),
    'seg/inceptionnext_b_upernet':
        PaperFigures(115, 1159, 'mIoU 50.6', _INX_UPERNET, ADE_UPERNET, ADE_MS_FLIP),
    'seg/inceptionnext_t_fpn': PaperFigures(28, 44, 'mIoU 43.1', _INX_FPN, ADE, ADE_ALIGNED),
    'seg/inceptionnext_s_fpn': PaperFigures(50, 65, 'mIoU 45.6', _INX_FPN, ADE, ADE_ALIGNED),
    'seg/inceptionnext_b_fpn': PaperFigures(85, 100, 'mIoU 46.4', _INX_FPN, ADE, ADE_ALIGNED),
    'seg/emo_1m_deeplabv3': PaperFigures(5.6, 2.4, 'mIoU 33.5', _EMO_SEG, ADE, ADE_WHOLE),
    'seg/emo_2m_deeplabv3': PaperFigures(6.9, 3.5, 'mIoU 35.3', _EMO_SEG, ADE, ADE_WHOLE),
    'seg/emo_5m_deeplabv3': PaperFigures(10.3, 5.8, 'mIoU 37.8', _EMO_SEG, ADE, ADE_WHOLE),
    'seg/emo_1m_pspnet': PaperFigures(4.3, 2.1, 'mIoU 33.2', _EMO_SEG, ADE, ADE_WHOLE),
    'seg/emo_2m_pspnet': PaperFigures(5.5, 3.1, 'mIoU 34.5', _EMO_SEG, ADE, ADE_WHOLE),
    'seg/emo_5m_pspnet': PaperFigures(8.5, 5.3, 'mIoU 38.2', _EMO_SEG, ADE, ADE_WHOLE),
}

#: Configs that no paper reports (so nothing to compare with), and the input
#: size claims.py counts their FLOPs at.
NOT_IN_A_PAPER: Dict[str, Tuple[int, int]] = {
    'cls/inceptionnext_t_light_in1k': IMAGENET,
    'det/inceptionnext_t_maskrcnn': COCO,
    'det/refconv_r50_maskrcnn': COCO,
    'det/fasternet_s_refconv_maskrcnn': COCO,
}


#: How a paper's result names a metric, and the key mmengine's evaluators log
#: it under (mmdet's COCO metric logs fractions; mmseg and mmpretrain
#: percentages). ``AP`` alone is a box AP (RetinaNet, SSDLite).
METRICS = (
    (r'box AP ([\d.]+)', 'coco/bbox_mAP', 100),
    (r'mask AP ([\d.]+)', 'coco/segm_mAP', 100),
    (r'(?<![a-z] )\bAP ([\d.]+)', 'coco/bbox_mAP', 100),
    (r'mIoU ([\d.]+)', 'mIoU', 1),
    (r'top-1 ([\d.]+)', 'accuracy/top1', 1),
)


def paper_metrics(result: str) -> Dict[str, Tuple[float, float]]:
    """The metrics of a paper result string (``'box AP 39.9, mask AP 36.9'``)
    as ``{logged key: (paper value in percent, factor from logged value to
    percent)}``."""
    out = {}
    for pattern, key, factor in METRICS:
        match = re.search(pattern, result)
        if match and key not in out:
            out[key] = (float(match.group(1)), factor)
    return out


#: The papers behind the configs, as the model index names them: a config
#: belongs to the first whose key its name contains (RefConv before the
#: backbone it is applied to).
COLLECTIONS: Dict[str, Dict[str, str]] = {
    'refconv': dict(
        name='RefConv', architecture='Re-parameterized Refocusing Convolution',
        title='RefConv: Re-parameterized Refocusing Convolution for Powerful ConvNets',
        paper='https://arxiv.org/abs/2310.10563', code='https://github.com/Aiolus-X/RefConv'),
    'fasternet': dict(
        name='FasterNet', architecture='Partial Convolution',
        title="Run, Don't Walk: Chasing Higher FLOPS for Faster Neural Networks",
        paper='https://arxiv.org/abs/2303.03667', code='https://github.com/JierunChen/FasterNet'),
    'inceptionnext': dict(
        name='InceptionNeXt', architecture='Inception Depthwise Convolution',
        title='InceptionNeXt: When Inception Meets ConvNeXt',
        paper='https://arxiv.org/abs/2303.16900', code='https://github.com/sail-sg/inceptionnext'),
    'convnext': dict(
        name='ConvNeXt', architecture='ConvNeXt Block',
        title='A ConvNet for the 2020s', paper='https://arxiv.org/abs/2201.03545',
        code='https://github.com/facebookresearch/ConvNeXt'),
    'emo': dict(
        name='EMO', architecture='Inverted Residual Mobile Block',
        title='Rethinking Mobile Block for Efficient Attention-based Models',
        paper='https://arxiv.org/abs/2301.01146', code='https://github.com/zhangzjn/EMO'),
}


def collection(config: str) -> str:
    """The key of :data:`COLLECTIONS` a config (``'det/emo_1m_ssdlite'``)
    belongs to."""
    name = config.split('/')[-1]
    for key in COLLECTIONS:
        if key in name:
            return key
    raise KeyError(f'{config} belongs to none of {", ".join(COLLECTIONS)}')


_FN = 'https://github.com/JierunChen/FasterNet/releases/download/v1.0/'
_CN = 'https://dl.fbaipublicfiles.com/convnext/'
_INX = 'https://github.com/sail-sg/inceptionnext/releases/download/model/'
_EMO = 'https://github.com/zhangzjn/EMO/raw/main/resources/'

#: The official repositories' released weights of exactly the model a config
#: builds (as their READMEs link them); configs without one are absent.
WEIGHTS: Dict[str, str] = {
    'cls/fasternet_t0_in1k': _FN + 'fasternet_t0-epoch.281-val_acc1.71.9180.pth',
    'cls/fasternet_t1_in1k': _FN + 'fasternet_t1-epoch.291-val_acc1.76.2180.pth',
    'cls/fasternet_t2_in1k': _FN + 'fasternet_t2-epoch.289-val_acc1.78.8860.pth',
    'cls/fasternet_s_in1k': _FN + 'fasternet_s-epoch.299-val_acc1.81.2840.pth',
    'cls/fasternet_m_in1k': _FN + 'fasternet_m-epoch.291-val_acc1.82.9620.pth',
    'cls/fasternet_l_in1k': _FN + 'fasternet_l-epoch.299-val_acc1.83.5060.pth',
    'cls/convnext_t_in1k': _CN + 'convnext_tiny_1k_224_ema.pth',
    'cls/convnext_s_in1k': _CN + 'convnext_small_1k_224_ema.pth',
    'cls/convnext_b_in1k': _CN + 'convnext_base_1k_224_ema.pth',
    'cls/convnext_l_in1k': _CN + 'convnext_large_1k_224_ema.pth',
    'cls/convnext_xl_in1k': _CN + 'convnext_xlarge_22k_1k_224_ema.pth',
    'cls/inceptionnext_a_in1k': _INX + 'inceptionnext_atto.pth',
    'cls/inceptionnext_t_in1k': _INX + 'inceptionnext_tiny.pth',
    'cls/inceptionnext_s_in1k': _INX + 'inceptionnext_small.pth',
    'cls/inceptionnext_b_in1k': _INX + 'inceptionnext_base.pth',
    'cls/emo_1m_in1k': _EMO + 'EMO_1M/net.pth',
    'cls/emo_2m_in1k': _EMO + 'EMO_2M/net.pth',
    'cls/emo_5m_in1k': _EMO + 'EMO_5M/net.pth',
    'cls/emo_6m_in1k': _EMO + 'EMO_6M/net.pth',
    'det/fasternet_s_maskrcnn': _FN + 'mask_rcnn_fasternet_s_fpn_1x_coco_20221111_063419.pth',
    'det/fasternet_m_maskrcnn': _FN + 'mask_rcnn_fasternet_m_fpn_1x_coco_20221107_124408.pth',
    'det/fasternet_l_maskrcnn': _FN + 'mask_rcnn_fasternet_l_fpn_1x_coco_20221107_004433.pth',
    'det/convnext_t_maskrcnn_3x': _CN + 'coco/mask_rcnn_convnext_tiny_1k_3x.pth',
    'det/convnext_t_cascade_maskrcnn_3x': _CN + 'coco/cascade_mask_rcnn_convnext_tiny_1k_3x.pth',
    'det/convnext_s_cascade_maskrcnn_3x': _CN + 'coco/cascade_mask_rcnn_convnext_small_1k_3x.pth',
    'det/convnext_b_cascade_maskrcnn_3x': _CN + 'coco/cascade_mask_rcnn_convnext_base_1k_3x.pth',
    'seg/convnext_t_upernet': _CN + 'ade20k/upernet_convnext_tiny_1k_512x512.pth',
    'seg/convnext_s_upernet': _CN + 'ade20k/upernet_convnext_small_1k_512x512.pth',
    'seg/convnext_b_upernet': _CN + 'ade20k/upernet_convnext_base_1k_512x512.pth',
}
