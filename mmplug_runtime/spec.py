"""``deploy.json``: what a folder of end-to-end files says about itself.

``tools/deploy/export_onnx.py`` writes it beside ``end2end.onnx`` (the task,
the files of each precision, the preprocessing and post-processing settings,
the class names); the runtime reads it, and records in its ``engine`` entry
the engine path that :func:`mmplug_runtime.select.choose` found fastest.
"""
import json
import os
from pathlib import Path
from typing import Any, Dict, Union

FORMAT, VERSION = 'mmplug-end2end', 1
SPEC_FILE = 'deploy.json'
TASKS = ('detection', 'instance_segmentation', 'semantic_segmentation', 'classification')
PRECISIONS = ('fp32', 'int8', 'bf16')
#: The file each precision runs: bf16 is an engine setting on the fp32 file.
PRECISION_FILE = {'fp32': 'fp32', 'int8': 'int8', 'bf16': 'fp32'}


def read_spec(directory: Union[str, os.PathLike]) -> Dict[str, Any]:
    """The ``deploy.json`` of a folder of end-to-end files.

    Args:
        directory: The folder ``tools/deploy/export_onnx.py`` wrote.

    Raises:
        FileNotFoundError: when the folder or its ``deploy.json`` is missing.
        ValueError: when the file is not a deploy.json this runtime reads.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f'{str(directory)!r} is not a folder of end-to-end files '
                                f'(tools/deploy/export_onnx.py CONFIG --work-dir DIR writes one)')
    path = directory / SPEC_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{str(directory)!r} holds no {SPEC_FILE} '
                                f'(tools/deploy/export_onnx.py writes it beside end2end.onnx)')
    spec = json.loads(path.read_text())
    if spec.get('format') != FORMAT or spec.get('version') != VERSION:
        raise ValueError(f'{path}: format {spec.get("format")!r} version '
                         f'{spec.get("version")!r}; this runtime reads {FORMAT!r} version '
                         f'{VERSION}')
    if spec.get('task') not in TASKS:
        raise ValueError(f'{path}: task {spec.get("task")!r}; known: {", ".join(TASKS)}')
    return spec


def model_path(directory: Union[str, os.PathLike], spec: Dict[str, Any], precision: str) -> Path:
    """The ONNX file that runs ``precision``.

    Args:
        directory: The folder of ``spec``.
        spec: Its deploy.json (:func:`read_spec`).
        precision: One of :data:`PRECISIONS`.

    Raises:
        ValueError: for an unknown precision, or one the folder holds no file
            for (naming the precisions it has).
        FileNotFoundError: when deploy.json names a file that is not there.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision {precision!r}; choose one of {", ".join(PRECISIONS)}')
    files = spec.get('files') or {'fp32': spec.get('model', 'end2end.onnx')}
    key = PRECISION_FILE[precision]
    if key not in files:
        have = sorted(p for p in PRECISIONS if PRECISION_FILE[p] in files)
        raise ValueError(f'{str(directory)!r} holds no {key} file for precision {precision!r}; '
                         f'it has: {", ".join(have)}')
    path = Path(directory) / files[key]
    if not path.is_file():
        raise FileNotFoundError(f'{SPEC_FILE} names {files[key]!r}, which is not in '
                                f'{str(directory)!r}')
    return path


def write_engine(directory: Union[str, os.PathLike], engine: Dict[str, Any]) -> None:
    """Record the chosen engine path in the folder's deploy.json (the file is
    replaced whole, so that a reader never sees half of it).

    Args:
        directory: The folder of end-to-end files.
        engine: The ``engine`` entry (:func:`mmplug_runtime.select.choose`).
    """
    path = Path(directory) / SPEC_FILE
    spec = json.loads(path.read_text())
    spec['engine'] = engine
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(spec, indent=1) + '\n')
    os.replace(tmp, path)
