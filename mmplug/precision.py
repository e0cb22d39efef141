"""Low-precision inference on the CPU: bfloat16 in PyTorch, int8 through
onnxruntime.

- :func:`to_bf16` turns a backbone (or a neck) into its deploy form with
  bfloat16 weights, wrapped in :class:`LowPrecision`, which casts the input
  to bfloat16 and the outputs back to float32, so that it drops into a
  detector or segmentor whose heads (and mmcv's RoIAlign and NMS) stay fp32.
  :func:`apply_precision` does that to a whole built model, and
  :class:`PrecisionHook` to the model a runner tests (``tools/test.py
  --precision bf16``).
- :func:`export_features` writes a backbone (and neck) to ONNX; :func:`quantize_onnx`
  quantizes such a file statically to int8 with onnxruntime, calibrated on
  the inputs it is given.
- :func:`sample_images` makes real-looking normalized images (generated
  shapes on textured backgrounds) to calibrate and evaluate on, and
  :func:`relative_error` compares outputs.
"""
import os
import os.path as osp
import tempfile
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from torch import nn

from .deploy.reparam import switch_to_deploy

#: What :func:`apply_precision` takes.
PRECISIONS = ('fp32', 'bf16')
#: The formats of :func:`quantize_onnx`.
QUANT_FORMATS = ('qdq', 'qoperator')

_IMAGENET_MEAN = (123.675, 116.28, 103.53)
_IMAGENET_STD = (58.395, 57.12, 57.375)


def bf16_supported() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX), so
    that oneDNN's bfloat16 convolutions are fast rather than emulated."""
    return bool(torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _cast(obj: Any, dtype: torch.dtype, memory_format: torch.memory_format) -> Any:
    """``obj``'s floating-point tensors (in tuples, lists and dicts too) in
    ``dtype``; 4-d ones also in ``memory_format``."""
    if isinstance(obj, torch.Tensor):
        if not obj.is_floating_point():
            return obj
        if obj.dim() == 4:
            return obj.to(dtype, memory_format=memory_format)
        return obj.to(dtype)
    if isinstance(obj, (tuple, list)):
        cast = [_cast(o, dtype, memory_format) for o in obj]
        return type(obj)(cast) if type(obj) in (tuple, list) else type(obj)(*cast)
    if isinstance(obj, dict):
        return type(obj)((k, _cast(v, dtype, memory_format)) for k, v in obj.items())
    return obj


class LowPrecision(nn.Module):
    """``module`` run in a lower precision inside a float32 model: its
    floating-point inputs are cast to ``dtype`` (4-d ones to channels_last
    too, if asked), and its outputs back to float32 in the standard
    (contiguous) layout. Attributes the wrapper lacks are looked up on
    ``module`` (``backbone.out_indices``, say), so it stands in for it.

    The module's weights are expected in ``dtype`` already (:func:`to_bf16`).
    For inference: the state dict's keys gain the prefix ``module.``, so
    load a checkpoint before wrapping.

    Args:
        module: The module to run.
        dtype: The dtype it runs in.
        channels_last: Give it 4-d inputs in channels_last.
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype = torch.bfloat16,
                 channels_last: bool = True):
        super().__init__()
        self.module = module
        self.dtype = dtype
        self.channels_last = channels_last

    def forward(self, *args, **kwargs):
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        args, kwargs = _cast((args, kwargs), self.dtype, fmt)
        return _cast(self.module(*args, **kwargs), torch.float32, torch.contiguous_format)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            module = self.__dict__.get('_modules', {}).get('module')
            if module is None:  # not built yet (being copied or unpickled)
                raise
            return getattr(module, name)

    def extra_repr(self) -> str:
        return f'dtype={self.dtype}, channels_last={self.channels_last}'


def to_bf16(module: nn.Module, channels_last: bool = True) -> LowPrecision:
    """The deploy form of ``module`` (:func:`mmplug.switch_to_deploy`, in
    place) with bfloat16 weights, wrapped in :class:`LowPrecision` so that it
    takes and returns float32 tensors.

    The deploy form's fused convolutions (:mod:`mmplug.models.fusion`) run
    through oneDNN in bfloat16 as they do in float32.

    Args:
        module: A backbone or neck (any ``nn.Module``), with its weights
            loaded.
        channels_last: Run on channels_last inputs and weights (faster with
            oneDNN's bfloat16 convolutions; measured by
            ``tools/analysis/benchmark.py precision``).

    Returns:
        The wrapper, in eval mode; ``module`` itself is changed in place.
    """
    if isinstance(module, LowPrecision):
        raise TypeError('to_bf16: the module is already wrapped in LowPrecision')
    if not bf16_supported():
        warnings.warn('to_bf16: this CPU has no native bfloat16 (AVX512_BF16 or AMX); '
                      'oneDNN emulates it, slower than float32', stacklevel=2)
    switch_to_deploy(module)
    module.to(torch.bfloat16)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    return LowPrecision(module, torch.bfloat16, channels_last).eval()


def check_precision(precision: str, valid: Sequence[str] = PRECISIONS) -> str:
    """``precision`` if it is one of ``valid``.

    Raises:
        ValueError: naming the valid ones otherwise.
    """
    if precision not in valid:
        raise ValueError(f'unknown precision {precision!r}; valid: {", ".join(valid)}'
                         + ('' if 'int8' in valid else ' (int8: quantize an ONNX export with '
                            'mmplug.precision.quantize_onnx)'))
    return precision


def apply_precision(model: nn.Module, precision: str, neck: bool = True) -> nn.Module:
    """Switch a built model (a detector, segmentor or classifier with a
    ``backbone``) to its deploy form, in place, and run its backbone (and
    neck) in ``precision``; the heads stay float32.

    Call it after loading the weights: the deploy form folds them.

    Args:
        model: The model.
        precision: ``'fp32'`` (the deploy form only) or ``'bf16'``.
        neck: Also run the neck (an FPN, say) in bfloat16.

    Returns:
        ``model``, in eval mode.

    Raises:
        ValueError: for another precision, or a model without a backbone.
    """
    check_precision(precision)
    if not isinstance(getattr(model, 'backbone', None), nn.Module):
        raise ValueError(f'apply_precision: {type(model).__name__} has no backbone')
    switch_to_deploy(model)
    if precision == 'bf16':
        if not isinstance(model.backbone, LowPrecision):
            model.backbone = to_bf16(model.backbone)
        own_neck = getattr(model, 'neck', None)
        if neck and isinstance(own_neck, nn.Module) and not isinstance(own_neck, LowPrecision):
            model.neck = to_bf16(own_neck)
    model.eval()  # not chained: some modules' train() returns None (mmdet's ResNet)
    return model


@HOOKS.register_module()
class PrecisionHook(Hook):
    """Test in another precision: before the test loop (after the runner
    has loaded the checkpoint), :func:`apply_precision` switches the model
    to its deploy form and runs its backbone and neck in ``precision``.
    Only for testing: the switch is for good.

    ``custom_hooks = [dict(type='PrecisionHook', precision='bf16')]`` with
    ``custom_imports = dict(imports=['mmplug.precision'])`` (which registers
    it); ``tools/test.py --precision bf16`` adds both (:func:`enable_precision`).

    Args:
        precision: One of :data:`PRECISIONS`.

    Raises:
        ValueError: for another precision.
    """

    priority = 'ABOVE_NORMAL'  # before CompileInferenceHook compiles the model

    def __init__(self, precision: str):
        self.precision = check_precision(precision)

    def before_test(self, runner) -> None:
        from mmengine.logging import print_log
        from mmengine.model import is_model_wrapper
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'backbone') and isinstance(getattr(model, 'module', None),
                                                         nn.Module):
            model = model.module  # a test-time augmentation wrapper
        apply_precision(model, self.precision)
        where = ('backbone and neck in bfloat16, heads in float32'
                 if self.precision == 'bf16' else 'float32')
        print_log(f'testing the deploy form, {where}', logger='current')


def enable_precision(cfg, precision: str) -> None:
    """What ``tools/test.py --precision`` does to a config: add
    :class:`PrecisionHook` (and the import that registers it).

    Args:
        cfg: The config (an mmengine ``Config``), changed in place.
        precision: One of :data:`PRECISIONS`.

    Raises:
        ValueError: for another precision.
    """
    check_precision(precision)
    hooks = [h for h in (cfg.get('custom_hooks') or [])
             if h.get('type') not in ('PrecisionHook', PrecisionHook)]
    cfg.custom_hooks = hooks + [dict(type='PrecisionHook', precision=precision)]
    imports = dict(cfg.get('custom_imports') or dict(imports=[], allow_failed_imports=False))
    names = imports.get('imports') or []
    names = [names] if isinstance(names, str) else list(names)
    if __name__ not in names:
        imports['imports'] = names + [__name__]
    cfg.custom_imports = imports


# ----------------------------------------------------------------- inputs
def sample_images(n: int, size: Union[int, Tuple[int, int]] = 224,
                  seed: int = 0) -> torch.Tensor:
    """``n`` real-looking images, normalized with ImageNet's mean and
    standard deviation: coloured shapes on textured backgrounds
    (:mod:`mmplug.datasets.shapes`), a function of ``seed``.

    Args:
        n: How many.
        size: N or (H, W).
        seed: Different seeds give different images.

    Returns:
        A float32 tensor of shape (n, 3, H, W).
    """
    from .datasets.shapes import shapes_image
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    images = [np.asarray(shapes_image(rng, (h, w), 4)[0], dtype=np.float32) for _ in range(n)]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def _outputs(out: Any) -> list:
    """The tensors (or arrays) of a possibly nested output, in order."""
    if isinstance(out, (torch.Tensor, np.ndarray)):
        return [out]
    return [t for o in out for t in _outputs(o)]


def relative_error(outs: Any, refs: Any) -> float:
    """The largest over the outputs of ``||out - ref|| / ||ref||`` (Frobenius
    norms, so an error is relative to the output's typical size, not to its
    largest element). Tensors, arrays or (nested) sequences of them."""
    outs = [torch.as_tensor(o).float() for o in _outputs(outs)]
    refs = [torch.as_tensor(r).float() for r in _outputs(refs)]
    if len(outs) != len(refs):
        raise ValueError(f'relative_error: {len(outs)} outputs against {len(refs)} references')
    return max(float((o - r).norm() / r.norm().clamp_min(1e-12)) for o, r in zip(outs, refs))


# ------------------------------------------------------------------- ONNX
def export_features(module: nn.Module, x: torch.Tensor, path: str, input_name: str = 'image',
                    dynamic_batch: bool = False, dynamic_size: bool = False,
                    opset: int = 20) -> List[np.ndarray]:
    """Trace ``module`` (a backbone or backbone and neck in their fp32
    deploy form, returning a tensor or a sequence of them) on ``x`` into the
    ONNX file ``path``; the outputs are named ``feat0``, ``feat1``, ...
    (For whole detectors and segmentors: :mod:`mmplug.onnx_model`.)

    Args:
        module: The module; it is put in eval mode.
        x: An example input; the file is made for its shape, but for the
            axes made dynamic.
        path: The .onnx file to write.
        input_name: The input's name in the file.
        dynamic_batch: Let the batch size vary.
        dynamic_size: Let the height and width vary (a module whose code
            branches on the input size follows the example's branch).
        opset: The ONNX opset; from 20 on, GELU is one ``Gelu`` node rather
            than ``Erf`` and arithmetic, which onnxruntime's int8 graph
            runs faster (ConvNeXt-T: 165 against 197 ms at batch 4, 1
            thread).

    Returns:
        PyTorch's outputs for ``x``, as arrays.
    """
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        expected = [t.float().numpy() for t in _outputs(module(x))]
        # the TorchScript exporter: the torch.export one needs onnxscript and
        # cannot follow mmdet's data-dependent code
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        names = [f'feat{i}' for i in range(len(expected))]
        axes = None
        if dynamic_batch or dynamic_size:
            axes = {n: {0: 'batch'} if dynamic_batch else {} for n in names}
            axes[input_name] = dict(axes[names[0]])
            if dynamic_size:
                axes[input_name].update({2: 'height', 3: 'width'})
                for i, n in enumerate(names):
                    axes[n].update({2: f'height{i}', 3: f'width{i}'})
        torch.onnx.export(module, (x, ), path, dynamo=False, opset_version=opset,
                          input_names=[input_name], output_names=names, dynamic_axes=axes)
    return expected


def _onnxruntime(feature: str = 'this'):
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(f'{feature} needs onnxruntime: pip install onnxruntime') from None
    return onnxruntime


def ort_session(path: str, threads: Optional[int] = None, spinning: bool = True,
                profile: bool = False):
    """An onnxruntime CPU session of the file ``path``, with all graph
    optimizations.

    Args:
        path: The .onnx file.
        threads: Intra-op threads (default: onnxruntime's, one per core).
        spinning: Let idle threads spin; turn it off where onnxruntime
            alternates with other work (a benchmark), which the spinning
            threads would slow down.
        profile: Record each node's time (:func:`ort_op_times`).

    Raises:
        ImportError: when onnxruntime is not installed, saying how to.
    """
    ort = _onnxruntime('ort_session')
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spinning:
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = osp.join(tempfile.mkdtemp(), 'ort')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def ort_op_times(path: str, feed: Dict[str, np.ndarray], threads: Optional[int] = None,
                 runs: int = 3) -> Dict[str, float]:
    """Seconds per run that onnxruntime spends in each op type (``Conv``,
    ``QLinearConv``, ``Erf``, ...) of the optimized graph of ``path`` on
    ``feed``, from its profiler (after one untimed run), largest first."""
    import json
    session = ort_session(path, threads, profile=True)
    for _ in range(runs + 1):
        session.run(None, feed)
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    run_spans = sorted((e['ts'], e['ts'] + e['dur']) for e in events
                       if e.get('cat') == 'Session' and e.get('name') == 'model_run')
    first_end = run_spans[0][1] if run_spans else -1  # the first run's times include set-up
    times: Dict[str, float] = {}
    for event in events:
        if (event.get('cat') == 'Node' and event.get('name', '').endswith('_kernel_time')
                and event['ts'] > first_end):
            op = event.get('args', {}).get('op_name', '?')
            times[op] = times.get(op, 0.0) + event['dur'] * 1e-6
    seen_runs = max(len(run_spans) - 1, 1)
    return dict(sorted(((k, v / seen_runs) for k, v in times.items()), key=lambda kv: -kv[1]))


def depthwise_conv_nodes(path: str) -> List[str]:
    """The names of the depthwise Conv nodes (``group`` equal to the number
    of input channels, > 1) of the ONNX file ``path``."""
    import onnx
    model = onnx.load(path)
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type != 'Conv':
            continue
        group = next((a.i for a in node.attribute if a.name == 'group'), 1)
        weight = shapes.get(node.input[1])
        # a depthwise weight is (C * multiplier, 1, kh, kw)
        if group > 1 and weight is not None and weight[1] == 1:
            names.append(node.name)
    return names


class _Calibration:
    """onnxruntime's CalibrationDataReader over dicts of arrays."""

    def __init__(self, inputs: Iterable[Dict[str, np.ndarray]]):
        self.inputs = iter(inputs)

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        item = next(self.inputs, None)
        if item is None:
            return None
        return {k: np.ascontiguousarray(v, dtype=np.float32) if v.dtype.kind == 'f' else v
                for k, v in item.items()}


def quantize_onnx(src: str, dst: str, calibration: Iterable[Dict[str, np.ndarray]],
                  per_channel: bool = True, quant_format: str = 'qdq',
                  exclude_depthwise: bool = False, preprocess: bool = True,
                  exclude_nodes: Sequence[str] = (), method: str = 'minmax',
                  op_types: Optional[Sequence[str]] = None) -> str:
    """Quantize the float32 ONNX file ``src`` statically to int8 (uint8
    activations, int8 weights: what VNNI multiplies) with onnxruntime, into
    ``dst``.

    Args:
        src: The float32 model.
        dst: The int8 model to write.
        calibration: Inputs to calibrate the activations' ranges on: dicts
            of input name -> array, as ``session.run`` takes them (a few
            real images are enough).
        per_channel: A scale per output channel of each weight.
        quant_format: ``'qdq'`` (QuantizeLinear/DequantizeLinear pairs
            around float ops, which onnxruntime fuses into int8 kernels) or
            ``'qoperator'`` (QLinearConv and friends).
        exclude_depthwise: Keep depthwise convs in float32.
        preprocess: Run onnxruntime's ``quant_pre_process`` (shape
            inference and graph optimization) first.
        exclude_nodes: Names of further nodes to keep in float32.
        method: Calibration: ``'minmax'``, ``'entropy'`` or ``'percentile'``.
        op_types: The node types to quantize (default: all onnxruntime can).

    Returns:
        ``dst``.

    Raises:
        ImportError: when onnxruntime is not installed, saying how to.
        ValueError: for an unknown ``quant_format`` or ``method``, or
            empty calibration data.
    """
    _onnxruntime('quantize_onnx')
    from onnxruntime import quantization as q
    formats = {'qdq': q.QuantFormat.QDQ, 'qoperator': q.QuantFormat.QOperator}
    methods = {'minmax': q.CalibrationMethod.MinMax, 'entropy': q.CalibrationMethod.Entropy,
               'percentile': q.CalibrationMethod.Percentile}
    if quant_format not in formats:
        raise ValueError(f'unknown quant_format {quant_format!r}; valid: {", ".join(formats)}')
    if method not in methods:
        raise ValueError(f'unknown calibration method {method!r}; valid: {", ".join(methods)}')
    calibration = list(calibration)
    if not calibration:
        raise ValueError('quantize_onnx: no calibration inputs')
    exclude = list(exclude_nodes)
    with tempfile.TemporaryDirectory() as tmp:
        model = src
        if preprocess:
            model = osp.join(tmp, 'preprocessed.onnx')
            q.quant_pre_process(src, model, skip_symbolic_shape=True)
        if exclude_depthwise:
            exclude += depthwise_conv_nodes(model)
        q.quantize_static(
            model, dst, _Calibration(calibration), quant_format=formats[quant_format],
            per_channel=per_channel, activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8, calibrate_method=methods[method],
            nodes_to_exclude=exclude or None,
            op_types_to_quantize=list(op_types) if op_types else None)
    return dst
