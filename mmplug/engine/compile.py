"""``torch.compile`` for training and inference runs.

mmengine's ``Runner`` reads a config's ``compile`` entry (``True``, or a
dict of ``torch.compile`` keyword arguments: ``dict(mode='max-autotune')``)
and compiles the model's ``train_step`` when training starts. It compiles
nothing else: validation during training and ``tools/test.py`` run eagerly.
:class:`CompileInferenceHook` compiles ``val_step`` and ``test_step`` the
same way, with the same options, before the first validation or test;
``tools/test.py --compile`` adds it (:func:`enable_compile`), and a config
can list it in ``custom_hooks``.

What is compiled is the bound step method, as mmengine does, not the module:
the model stays the same object, so checkpoints keep their keys (no
``_orig_mod.`` prefix). Dynamo breaks the graph where the code leaves
PyTorch (mmcv's NMS and RoIAlign, NumPy, the data samples) and compiles the
pieces in between.
"""
import inspect
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

#: The steps :class:`CompileInferenceHook` may compile.
INFERENCE_STEPS = ('val_step', 'test_step')


def _compile_kwargs() -> Sequence[str]:
    return [name for name in inspect.signature(torch.compile).parameters if name != 'model']


def compile_options(value: Union[bool, dict, None]) -> Optional[dict]:
    """The ``torch.compile`` keyword arguments that a config's ``compile``
    entry asks for, or None for no compilation.

    Args:
        value: The entry: None or False (no compilation), True (default
            options) or a dict of ``torch.compile`` keyword arguments.

    Returns:
        A new dict of keyword arguments, or None.

    Raises:
        ValueError: for a dict with a key ``torch.compile`` does not take,
            or a value of another type.
    """
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, dict):
        valid = _compile_kwargs()
        unknown = sorted(set(value) - set(valid))
        if unknown:
            raise ValueError(f'compile: torch.compile takes no {unknown}; valid keys: '
                             f'{", ".join(valid)}')
        return dict(value)
    raise ValueError(f'compile must be True, False, None or a dict of torch.compile arguments, '
                     f'got {value!r}')


def compile_step(model: nn.Module, step: str, options: Optional[dict] = None) -> bool:
    """Replace the model's ``step`` method (``'val_step'``, ...) by its
    compiled form, in place, as mmengine's ``Runner`` compiles
    ``train_step``; a step compiled already is left as it is.

    Args:
        model: The model, or a wrapper of it (DDP), whose method it is.
        step: The method's name.
        options: ``torch.compile`` keyword arguments.

    Returns:
        Whether the step was compiled now.

    Raises:
        ValueError: when the model has no such method.
    """
    fn = getattr(model, step, None)
    if not callable(fn):
        raise ValueError(f'compile: {type(model).__name__} has no method {step!r}')
    if getattr(fn, 'compiled_by_mmplug', False):
        return False
    compiled = torch.compile(fn, **(options or {}))
    compiled.compiled_by_mmplug = True
    setattr(model, step, compiled)
    return True


class CompileInferenceHook(Hook):
    """Compile the model's ``val_step`` and ``test_step`` before the first
    validation or test, with the options of the config's ``compile`` entry
    (default options where it has none). The compiled step serves every
    later validation; the first batches of the first one are slow.

    ``custom_hooks = [dict(type='CompileInferenceHook')]`` in a config that
    imports mmplug (``custom_imports = dict(imports=['mmplug'])``).

    Args:
        steps: Which of :data:`INFERENCE_STEPS` to compile.
        options: ``torch.compile`` keyword arguments, instead of the
            config's.
    """

    priority = 'VERY_LOW'

    def __init__(self, steps: Sequence[str] = INFERENCE_STEPS, options: Optional[dict] = None):
        bad = sorted(set(steps) - set(INFERENCE_STEPS))
        if bad:
            raise ValueError(f'CompileInferenceHook: unknown steps {bad}; choose from '
                             f'{INFERENCE_STEPS}')
        self.steps = tuple(steps)
        self.options = compile_options(options if options is not None else True)
        self._options_from_config = options is None

    def _compile(self, runner, step: str) -> None:
        if step not in self.steps:
            return
        options = self.options
        if self._options_from_config:
            options = compile_options(runner.cfg.get('compile')) or {}
        if compile_step(runner.model, step, options):
            print_log(f'{step} is compiled (torch.compile {options or "default options"}); '
                      'the first batches will be slow', logger='current')

    def before_val(self, runner) -> None:
        self._compile(runner, 'val_step')

    def before_test(self, runner) -> None:
        self._compile(runner, 'test_step')


def enable_compile(cfg: Config, train: bool = True, inference: bool = True) -> None:
    """What a tool's ``--compile`` does to a config: training compiles
    (``compile=True``, unless the config has options already), and
    :class:`CompileInferenceHook` compiles validation and test, with the
    config's options if it has some.

    Args:
        cfg: The config, changed in place.
        train: Compile the training step.
        inference: Compile ``val_step`` and ``test_step``.

    Raises:
        ValueError: when the config's ``compile`` entry is not valid
            (:func:`compile_options`).
    """
    if train and compile_options(cfg.get('compile')) is None:
        cfg.compile = True
    if inference:
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(h.get('type') in ('CompileInferenceHook', CompileInferenceHook)
                   for h in hooks):
            hooks.append(dict(type='CompileInferenceHook'))
        cfg.custom_hooks = hooks
