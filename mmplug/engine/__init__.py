from .optimizers import LayerDecayOptimizerConstructor, layer_id

__all__ = ['LayerDecayOptimizerConstructor', 'layer_id']
