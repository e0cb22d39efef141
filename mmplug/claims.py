"""The papers' figures for each downstream config, for checks and docs.

``PAPER_PARAMS`` maps a config (path under ``configs/``, without ``.py``) to
the parameter count, in millions, that its paper reports, and where.
"""
from typing import Dict, NamedTuple


class Claim(NamedTuple):
    params_m: float
    source: str


_FASTERNET = 'FasterNet (CVPR 2023), Table 4'
_CONVNEXT_DET = 'ConvNeXt (CVPR 2022), Table 3'
_CONVNEXT_SEG = 'ConvNeXt (CVPR 2022), Table 4'
_INX_UPERNET = 'InceptionNeXt (CVPR 2024), Table 6'
_INX_FPN = 'InceptionNeXt (CVPR 2024), Table 7'
_EMO_DET = 'EMO (ICCV 2023), Table 5'
_EMO_SEG = 'EMO (ICCV 2023), Table 6'

PAPER_PARAMS: Dict[str, Claim] = {
    'det/fasternet_s_maskrcnn': Claim(49.0, _FASTERNET),
    'det/fasternet_m_maskrcnn': Claim(71.2, _FASTERNET),
    'det/fasternet_l_maskrcnn': Claim(110.9, _FASTERNET),
    'det/convnext_t_maskrcnn_3x': Claim(48, _CONVNEXT_DET),
    'det/convnext_t_cascade_maskrcnn_3x': Claim(86, _CONVNEXT_DET),
    'det/convnext_s_cascade_maskrcnn_3x': Claim(108, _CONVNEXT_DET),
    'det/convnext_b_cascade_maskrcnn_3x': Claim(146, _CONVNEXT_DET),
    'det/emo_1m_retinanet': Claim(10.4, _EMO_DET),
    'det/emo_2m_retinanet': Claim(11.5, _EMO_DET),
    'det/emo_5m_retinanet': Claim(14.4, _EMO_DET),
    'det/emo_1m_ssdlite': Claim(2.3, _EMO_DET),
    'det/emo_2m_ssdlite': Claim(3.3, _EMO_DET),
    'det/emo_5m_ssdlite': Claim(6.0, _EMO_DET),
    'seg/convnext_t_upernet': Claim(60, _CONVNEXT_SEG),
    'seg/convnext_s_upernet': Claim(82, _CONVNEXT_SEG),
    'seg/convnext_b_upernet': Claim(122, _CONVNEXT_SEG),
    'seg/inceptionnext_t_upernet': Claim(56, _INX_UPERNET),
    'seg/inceptionnext_s_upernet': Claim(78, _INX_UPERNET),
    'seg/inceptionnext_b_upernet': Claim(115, _INX_UPERNET),
    'seg/inceptionnext_t_fpn': Claim(28, _INX_FPN),
    'seg/inceptionnext_s_fpn': Claim(50, _INX_FPN),
    'seg/inceptionnext_b_fpn': Claim(85, _INX_FPN),
    'seg/emo_1m_deeplabv3': Claim(5.6, _EMO_SEG),
    'seg/emo_2m_deeplabv3': Claim(6.9, _EMO_SEG),
    'seg/emo_5m_deeplabv3': Claim(10.3, _EMO_SEG),
    'seg/emo_1m_pspnet': Claim(4.3, _EMO_SEG),
    'seg/emo_2m_pspnet': Claim(5.5, _EMO_SEG),
    'seg/emo_5m_pspnet': Claim(8.5, _EMO_SEG),
}

#: Downstream configs that no paper reports (so nothing to compare with).
NOT_IN_A_PAPER = ('det/inceptionnext_t_maskrcnn', 'det/refconv_r50_maskrcnn',
                  'det/fasternet_s_refconv_maskrcnn')
