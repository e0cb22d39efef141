"""mmplug: efficient CNN backbones for OpenMMLab dense prediction."""
from pathlib import Path

from setuptools import find_packages, setup


def version() -> str:
    text = (Path(__file__).parent / 'mmplug' / 'version.py').read_text()
    return text.split("'")[1]


# What mmplug itself imports. torch and mmcv are left to the user's own CUDA
# build where they have one: any version in these ranges will do.
install_requires = [
    # mmplug/compat.py registers checkpoint types with
    # torch.serialization.add_safe_globals, new in torch 2.4.
    'torch>=2.4',
    'mmengine>=0.10.0,<1.0',
    'mmcv>=2.0.0,<2.2.0',
    'numpy',
    'Pillow',
]
extras = {
    'det': ['mmdet>=3.0.0,<3.4.0', 'pycocotools'],
    # mmseg.models imports ftfy and regex without declaring them
    'seg': ['mmsegmentation>=1.0.0,<1.3.0', 'ftfy', 'regex'],
    'cls': ['mmpretrain>=1.0.0,<1.3.0'],
    'tests': ['pytest', 'timm>=1.0.16', 'onnx', 'onnxruntime'],
    # tools/analysis: timm twins in benchmark.py, plot.py's figure
    'analysis': ['timm>=1.0.16', 'matplotlib'],
}
extras['all'] = sorted({r for v in extras.values() for r in v})

setup(
    name='mmplug',
    version=version(),
    description='InceptionNeXt, ConvNeXt, FasterNet, EMO and RefConv '
    'backbones for OpenMMLab detection and segmentation',
    long_description=Path('README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmplug', 'mmplug.*']),
    python_requires='>=3.8',
    install_requires=install_requires,
    extras_require=extras,
    license='Apache-2.0',
)
