"""A folder of end-to-end files, loaded into an engine, that turns images
into results: preprocessing, the graph, post-processing."""
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .engines import BACKENDS, open_engine
from .host import BF16_FLAGS, has_bf16, host_info
from .postprocess import Result, postprocess
from .preprocess import ImageLike, preprocess
from .selection import choose, installed_backends, recorded
from .spec import PRECISIONS, model_path, read_spec

#: What ``precision`` may be: a precision, or ``'auto'``, the fastest here.
PRECISION_CHOICES = PRECISIONS + ('auto', )


class Predictor:
    """The end-to-end files of ``directory`` on one engine path.

    Args:
        directory: The folder ``tools/deploy/export_onnx.py`` wrote.
        backend: ``'onnxruntime'`` or ``'openvino'``; None: onnxruntime, or
            OpenVINO for bf16, or with ``'auto'`` any installed one.
        precision: ``'fp32'``, ``'int8'``, ``'bf16'`` (OpenVINO, on a CPU
            with native bfloat16) or ``'auto'``: the path deploy.json records
            as fastest on this kind of host, else the fastest found now
            (:func:`mmplug_runtime.selection.choose`, which records it).
        threads: Threads the engine may use; None: the engine's default.
        seconds: With ``'auto'``, how long the timing may take.

    Attributes:
        spec: The folder's deploy.json.
        choice: With ``'auto'``, deploy.json's ``engine`` entry it followed.
        backend, precision, path: The engine path it runs.

    Raises:
        FileNotFoundError: when the folder, its deploy.json or the file of
            the precision is missing.
        ValueError: for an unknown backend or precision, or bf16 where it
            cannot run.
        ImportError: naming the package of a backend that is not installed.
    """

    def __init__(self, directory: Union[str, os.PathLike], backend: Optional[str] = None,
                 precision: str = 'fp32', threads: Optional[int] = None,
                 seconds: float = 3.0):
        if precision not in PRECISION_CHOICES:
            raise ValueError(f'precision {precision!r}; choose one of '
                             f'{", ".join(PRECISION_CHOICES)}')
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f'backend {backend!r}; choose one of {", ".join(BACKENDS)}')
        if precision == 'bf16' and backend == 'onnxruntime':
            raise ValueError('precision bf16 runs on the openvino backend only')
        self.directory = Path(directory)
        self.spec = read_spec(directory)
        self.choice: Optional[Dict[str, Any]] = None
        if precision == 'auto':
            backends = [backend] if backend else installed_backends()
            self.choice = recorded(self.spec, host_info(measure=False), threads, backends) \
                or choose(directory, backends, threads, seconds)
            backend, precision = self.choice['backend'], self.choice['precision']
        backend = backend or ('openvino' if precision == 'bf16' else 'onnxruntime')
        if precision == 'bf16':
            host = host_info(measure=False)
            if not has_bf16(host):
                raise ValueError(f'precision bf16: this CPU ({host["cpu"]}) has none of '
                                 f'{", ".join(BF16_FLAGS)}, so bfloat16 would be emulated, '
                                 f'slower than fp32; choose fp32 or int8')
        self.backend, self.precision = backend, precision
        self.path = model_path(directory, self.spec, precision)
        self.engine = open_engine(backend, self.path, threads, bf16=precision == 'bf16')

    def predict(self, images: Sequence[ImageLike]) -> List[Result]:
        """Results of a batch of images.

        Args:
            images: Image files, or images read as
                :func:`mmplug_runtime.preprocess.read_image` reads them.

        Returns:
            Per image, the results of :mod:`mmplug_runtime.postprocess` and
            ``meta``, its :class:`~mmplug_runtime.preprocess.ImageMeta`.
        """
        batch = preprocess(images, self.spec['preprocess'])
        outputs = self.engine.run(batch.feeds(self.engine.input_names))
        results = postprocess(self.spec['task'], outputs, batch.metas,
                              self.spec.get('postprocess') or {})
        for result, meta in zip(results, batch.metas):
            result['meta'] = meta
        return results
