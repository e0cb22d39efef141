from .compile import CompileInferenceHook, compile_options, compile_step, enable_compile
from .optimizers import LayerDecayOptimizerConstructor, layer_id

__all__ = [
    'CompileInferenceHook', 'LayerDecayOptimizerConstructor', 'compile_options', 'compile_step',
    'enable_compile', 'layer_id'
]
