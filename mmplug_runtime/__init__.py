"""mmplug's runtime: the end-to-end ONNX files of ``tools/deploy/export_onnx.py``
on a machine without PyTorch or OpenMMLab.

It needs numpy, OpenCV, Pillow and one engine, onnxruntime or OpenVINO::

    pip install "mmplug[runtime]"            # numpy, opencv-python-headless, Pillow, onnxruntime
    pip install "mmplug[runtime,openvino]"   # and OpenVINO

and imports nothing of mmplug, torch, mmcv, mmengine, mmdet, mmseg or
mmpretrain (``mmplug[runtime]`` installs none of them either)::

    from mmplug_runtime import Predictor
    predictor = Predictor('work_dirs/export', precision='auto')
    results = predictor.predict(['demo.jpg'])

Modules: :mod:`~mmplug_runtime.spec` (deploy.json),
:mod:`~mmplug_runtime.preprocess`, :mod:`~mmplug_runtime.engines`,
:mod:`~mmplug_runtime.postprocess`, :mod:`~mmplug_runtime.results` (JSON),
:mod:`~mmplug_runtime.draw`, :mod:`~mmplug_runtime.host` (the machine of a
timing), :mod:`~mmplug_runtime.selection` (the fastest engine path here) and
:mod:`~mmplug_runtime.predictor`, which joins them. ``tools/deploy/infer.py``
and ``tools/deploy/benchmark.py`` are their command lines.
"""
from .engines import BACKENDS, Engine, open_engine
from .host import host_info
from .predictor import PRECISION_CHOICES, Predictor
from .preprocess import preprocess, read_image
from .selection import choose
from .spec import read_spec

__all__ = ['BACKENDS', 'Engine', 'PRECISION_CHOICES', 'Predictor', 'choose', 'host_info',
           'open_engine', 'preprocess', 'read_image', 'read_spec']
