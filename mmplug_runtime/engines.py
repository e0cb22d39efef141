"""The engines that run an ONNX file on the CPU, behind one small interface:
``Engine.run(feeds) -> outputs``, both dicts of numpy arrays by name.

onnxruntime (CPU execution provider) and OpenVINO (``CPU`` device, f32 or
bf16 inference precision) are imported when an engine of theirs is made,
so that a deploy target needs only the one it uses.
"""
import importlib
import os
from typing import Dict, List, Optional, Union

import numpy as np

BACKENDS = ('onnxruntime', 'openvino')
#: The package to install for each backend, and mmplug's extra that has it.
PACKAGES = {'onnxruntime': ('onnxruntime', 'mmplug[runtime]'),
            'openvino': ('openvino', 'mmplug[openvino]')}


def _import(backend: str):
    try:
        return importlib.import_module(backend)
    except ImportError as error:
        package, extra = PACKAGES[backend]
        raise ImportError(f'the {backend} backend needs the package {package}: '
                          f'pip install {package} (or {extra})') from error


class Engine:
    """An ONNX file loaded into an engine, ready to run.

    Attributes:
        backend: One of :data:`BACKENDS`.
        input_names: The graph's inputs, in order.
        output_names: The graph's outputs, in order.
    """

    backend = ''
    input_names: List[str]
    output_names: List[str]

    def run(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Run the graph.

        Args:
            feeds: An array for each of :attr:`input_names`.

        Returns:
            An array for each of :attr:`output_names`.
        """
        raise NotImplementedError


class OnnxruntimeEngine(Engine):
    """onnxruntime's CPU execution provider.

    Args:
        path: The ONNX file.
        threads: Threads of one operator (``intra_op_num_threads``); None:
            onnxruntime's default (one per physical core).
    """

    backend = 'onnxruntime'

    def __init__(self, path: Union[str, os.PathLike], threads: Optional[int] = None):
        ort = _import('onnxruntime')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle threads that spin between runs take the cores from whatever
        # runs next on them (the next image's preprocessing, another engine
        # in a benchmark); on a few cores that costs more than it saves.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(str(path), options,
                                            providers=['CPUExecutionProvider'])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(self.output_names, feeds)))


class OpenvinoEngine(Engine):
    """OpenVINO on its ``CPU`` device; inputs of any shape the file allows.

    Args:
        path: The ONNX file.
        threads: ``INFERENCE_NUM_THREADS``; None: OpenVINO's default.
        bf16: Compute in bfloat16 (``INFERENCE_PRECISION_HINT``) where f32
            is otherwise used.
    """

    backend = 'openvino'

    def __init__(self, path: Union[str, os.PathLike], threads: Optional[int] = None,
                 bf16: bool = False):
        ov = _import('openvino')
        core = ov.Core()
        config = {'INFERENCE_PRECISION_HINT': 'bf16' if bf16 else 'f32'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        self.model = core.compile_model(core.read_model(str(path)), 'CPU', config)
        self.request = self.model.create_infer_request()
        self.input_names = [i.get_any_name() for i in self.model.inputs]
        self.output_names = [o.get_any_name() for o in self.model.outputs]

    def run(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        results = self.request.infer(feeds)
        return {name: results[port] for name, port in zip(self.output_names, self.model.outputs)}


def open_engine(backend: str, path: Union[str, os.PathLike], threads: Optional[int] = None,
                bf16: bool = False) -> Engine:
    """Load an ONNX file into an engine.

    Args:
        backend: ``'onnxruntime'`` or ``'openvino'``.
        path: The ONNX file.
        threads: Threads the engine may use; None: the engine's default.
        bf16: Compute in bfloat16 (OpenVINO only).

    Raises:
        ValueError: for an unknown backend, or bf16 on onnxruntime.
        ImportError: naming the package to install when the backend's is
            missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    if backend == 'openvino':
        return OpenvinoEngine(path, threads, bf16)
    if bf16:
        raise ValueError('precision bf16 runs on the openvino backend only')
    return OnnxruntimeEngine(path, threads)
