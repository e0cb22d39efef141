"""The machine a speed figure was measured on: the CPU, the instruction set
extensions inference engines use, the cores and threads this process may
run on, and how fast numpy multiplies fp32 matrices here.

A precision's speed belongs to the host (bf16 is slower than fp32 on a CPU
that converts bf16 without AMX), so every timing the runtime prints or
records names its host.
"""
import os
import platform
import time
from typing import Any, Dict, List, Optional

import numpy as np

#: The CPU flags (Linux /proc/cpuinfo names) that decide which kernels
#: onnxruntime and OpenVINO run.
INFERENCE_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16',
                   'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16', 'amx_fp16')
#: Flags with which a CPU computes bfloat16 natively.
BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


def _cpuinfo() -> List[Dict[str, str]]:
    """The processors of /proc/cpuinfo as dicts; empty off Linux."""
    try:
        with open('/proc/cpuinfo') as f:
            text = f.read()
    except OSError:
        return []
    processors = []
    for block in text.strip().split('\n\n'):
        entry = {}
        for line in block.splitlines():
            key, _, value = line.partition(':')
            entry[key.strip()] = value.strip()
        processors.append(entry)
    return processors


def matmul_gflops(n: int = 2048, repeats: int = 3, budget_s: float = 0.6) -> float:
    """numpy's fp32 matrix product of two n x n matrices, in GFLOP/s: the best
    of ``repeats`` runs, fewer where they pass ``budget_s`` seconds."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    best, start = float('inf'), time.perf_counter()
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() - start > budget_s:
            break
    return 2 * n ** 3 / best / 1e9


def host_info(measure: bool = True) -> Dict[str, Any]:
    """The host, for naming it beside speed figures.

    Args:
        measure: Also measure numpy's fp32 matrix product (under a second).

    Returns:
        ``cpu`` (model name), ``flags`` (those of :data:`INFERENCE_FLAGS` the
        CPU has), ``cores`` (physical cores, None where unknown),
        ``threads`` (logical CPUs this process may use), ``machine`` and,
        with ``measure``, ``matmul_fp32_gflops``.
    """
    processors = _cpuinfo()
    first = processors[0] if processors else {}
    flags = set(first.get('flags', '').split())
    cores: Optional[int] = len({(p.get('physical id'), p.get('core id')) for p in processors
                                if 'core id' in p}) or None
    threads = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
        else os.cpu_count()
    info = dict(cpu=first.get('model name') or platform.processor() or platform.machine(),
                flags=[f for f in INFERENCE_FLAGS if f in flags], cores=cores, threads=threads,
                machine=platform.machine())
    if measure:
        info['matmul_fp32_gflops'] = round(matmul_gflops(), 1)
    return info


def has_bf16(info: Dict[str, Any]) -> bool:
    """Whether the host of :func:`host_info` computes bfloat16 natively."""
    return any(flag in info['flags'] for flag in BF16_FLAGS)


def describe(info: Dict[str, Any]) -> str:
    """One line naming the host, for the head of a table of timings."""
    cores = f', {info["cores"]} cores' if info.get('cores') else ''
    line = (f'{info["cpu"]} ({info["machine"]}), {info["threads"]} threads{cores}; '
            f'flags: {" ".join(info["flags"]) or "none of " + ", ".join(INFERENCE_FLAGS)}')
    if 'matmul_fp32_gflops' in info:
        line += f'; numpy fp32 2048x2048 matrix product: {info["matmul_fp32_gflops"]} GFLOP/s'
    return line
