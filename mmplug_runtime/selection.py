"""Choosing the fastest engine path on the machine it runs on.

The candidates are each installed backend with each precision the folder
has a file for: fp32, int8 (``end2end.int8.onnx``) and, on OpenVINO only and
only where the CPU computes bfloat16 natively, bf16. They are timed on one
sample batch, interleaved (each round runs every candidate once, in an order
that rotates), for a few seconds in all; the fastest by median time is
recorded in deploy.json's ``engine`` entry with the host and every timing.
"""
import importlib.util
import os
import statistics
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .engines import BACKENDS, open_engine
from .host import describe, has_bf16, host_info
from .preprocess import preprocess
from .spec import PRECISION_FILE, PRECISIONS, model_path, read_spec, write_engine

Candidate = Tuple[str, str]


def installed_backends() -> List[str]:
    """The backends whose package this environment has."""
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


def candidates(spec: Dict[str, Any], host: Dict[str, Any],
               backends: Sequence[str] = BACKENDS) -> List[Candidate]:
    """The (backend, precision) paths worth timing for a deploy.json on a host.

    Args:
        spec: The folder's deploy.json.
        host: :func:`mmplug_runtime.host.host_info` of this machine.
        backends: The backends to consider.
    """
    files = spec.get('files') or {'fp32': spec.get('model')}
    out = []
    for backend in backends:
        for precision in PRECISIONS:
            if PRECISION_FILE[precision] not in files:
                continue
            if precision == 'bf16' and (backend != 'openvino' or not has_bf16(host)):
                continue
            out.append((backend, precision))
    return out


def sample_image(preprocess_spec: Dict[str, Any]) -> np.ndarray:
    """A generated image (smooth colour noise, BGR) of the size the
    pipeline's first resize aims at, or of the segmentor's pad size, or
    512 x 512."""
    height = width = 512
    if preprocess_spec.get('pad_size'):
        height, width = preprocess_spec['pad_size']
    for step in preprocess_spec['pipeline']:
        if step['type'] in ('Resize', 'ResizeEdge'):
            scale = step['scale']
            width, height = (scale, scale) if isinstance(scale, int) else scale
            break
    coarse = np.random.default_rng(0).integers(0, 256, (height // 16 + 2, width // 16 + 2, 3),
                                                dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def recorded(spec: Dict[str, Any], host: Dict[str, Any], threads: Optional[int],
             backends: Sequence[str] = BACKENDS) -> Optional[Dict[str, Any]]:
    """deploy.json's ``engine`` entry if it was measured on this kind of host
    (same CPU, flags and usable threads) with the same ``threads`` setting
    and one of ``backends``, else None."""
    entry = spec.get('engine')
    if not entry:
        return None
    then = entry['host']
    same_host = all(then.get(k) == host.get(k) for k in ('cpu', 'flags', 'threads'))
    if same_host and entry.get('threads') == threads and entry['backend'] in backends:
        return entry
    return None


def choose(directory: Union[str, os.PathLike], backends: Optional[Sequence[str]] = None,
           threads: Optional[int] = None, seconds: float = 3.0,
           image: Optional[np.ndarray] = None, record: bool = True) -> Dict[str, Any]:
    """Time the candidate paths of a folder of end-to-end files and choose
    the fastest.

    Args:
        directory: The folder (deploy.json and its ONNX files).
        backends: The backends to consider; None: every installed one.
        threads: Threads each engine may use; None: the engines' defaults.
        seconds: How long the timed rounds may take in all (each candidate
            runs once more before, untimed; at least one round runs).
        image: The sample image (BGR); None: :func:`sample_image`.
        record: Write the result to deploy.json's ``engine`` entry.

    Returns:
        The entry: ``backend``, ``precision``, ``file``, ``threads``,
        ``timings_ms`` (median of each candidate, ``'backend/precision'``),
        ``rounds``, ``input_shape``, ``measured`` (local time) and ``host``.

    Raises:
        ImportError: when none of the backends is installed.
    """
    spec = read_spec(directory)
    installed = installed_backends()
    backends = [b for b in (backends or BACKENDS) if b in installed]
    if not backends:
        raise ImportError('no engine to time: pip install onnxruntime or openvino '
                          '(mmplug[runtime], mmplug[openvino])')
    host = host_info()
    paths = candidates(spec, host, backends)
    batch = preprocess([sample_image(spec['preprocess']) if image is None else image],
                       spec['preprocess'])
    engines = {c: open_engine(c[0], model_path(directory, spec, c[1]), threads,
                              bf16=c[1] == 'bf16') for c in paths}
    feeds = {c: batch.feeds(e.input_names) for c, e in engines.items()}
    for c, engine in engines.items():
        engine.run(feeds[c])
    times: Dict[Candidate, List[float]] = {c: [] for c in paths}
    rounds, start = 0, time.perf_counter()
    while rounds == 0 or time.perf_counter() - start < seconds:
        for c in paths[rounds % len(paths):] + paths[:rounds % len(paths)]:
            t = time.perf_counter()
            engines[c].run(feeds[c])
            times[c].append(time.perf_counter() - t)
        rounds += 1
    medians = {c: statistics.median(t) * 1000 for c, t in times.items()}
    backend, precision = min(medians, key=medians.get)
    entry = dict(backend=backend, precision=precision,
                 file=model_path(directory, spec, precision).name, threads=threads,
                 timings_ms={f'{b}/{p}': round(ms, 3) for (b, p), ms in medians.items()},
                 rounds=rounds, input_shape=list(batch.image.shape),
                 measured=time.strftime('%Y-%m-%d %H:%M:%S'), host=host)
    if record:
        write_engine(directory, entry)
    return entry


def table(entry: Dict[str, Any]) -> str:
    """The timings of a :func:`choose` entry as a Markdown table, its host
    and settings above it."""
    best = min(entry['timings_ms'].values())
    threads = entry['threads'] or 'default'
    lines = [f'host: {describe(entry["host"])}',
             f'input {"x".join(map(str, entry["input_shape"]))}, engine threads: {threads}; '
             f'median of {entry["rounds"]} interleaved rounds, {entry["measured"]}', '',
             '| backend | precision | ms | vs fastest |', '| --- | --- | --- | --- |']
    for name, ms in sorted(entry['timings_ms'].items(), key=lambda kv: kv[1]):
        backend, precision = name.split('/')
        lines.append(f'| {backend} | {precision} | {ms:.1f} | {ms / best:.2f}x |')
    lines.append(f'\nchosen: {entry["backend"]} {entry["precision"]} ({entry["file"]})')
    return '\n'.join(lines)
