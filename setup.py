"""mmplug: efficient CNN backbones for OpenMMLab dense prediction."""
import shutil
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
#: What mmplug/.mim holds, where OpenMMLab's tooling and ``mmplug::`` config
#: paths look (mmplug/mim.py): the repository's configs, tools and model index.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def version() -> str:
    text = (ROOT / 'mmplug' / 'version.py').read_text()
    return text.split("'")[1]


def link_mim_files() -> None:
    """Link mmplug/.mim/{configs,tools,model-index.yml} to the repository's.

    An editable install then sees the clone's files as they change, and a
    wheel or source package copies them (setuptools follows the links). A
    source package carries them already, as files, and no repository folders
    to link to: then nothing changes. Where links cannot be made (Windows
    without the privilege), the files are copied.
    """
    if not (ROOT / 'configs').is_dir():  # a source package
        return
    mim = ROOT / 'mmplug' / '.mim'
    mim.mkdir(exist_ok=True)
    for name in MIM_FILES:
        if not (ROOT / name).exists():
            continue
        target, path = Path('..', '..', name), mim / name
        if path.is_symlink() and Path(path.readlink()) == target:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        try:
            path.symlink_to(target, target_is_directory=(ROOT / name).is_dir())
        except OSError:
            copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copyfile
            copy(ROOT / name, path)


# The distribution holds two packages: mmplug, backbones and tools for
# OpenMMLab, which imports torch and an OpenMMLab stack, and mmplug_runtime,
# which runs the end-to-end ONNX files of tools/deploy/export_onnx.py with
# numpy, OpenCV, Pillow and an engine only (`mmplug[runtime]`,
# `mmplug[openvino]`, on a deploy target). The plain requirements are what
# both import, numpy; the rest are extras. The OpenMMLab packages come in two
# distributions with the same import names, OpenMMLab's (`mmplug[openmmlab]`)
# and its maintained fork's (`mmplug[onedl]`), in ranges that admit both
# stacks mmplug is tested on (requirements/stack.txt and
# requirements/stack-onedl.txt): naming one of them in the plain requirements
# would install it over the other. torch and mmcv are best left to the user's
# own CUDA build where they have one: an installed torch satisfies the
# extras' range.
install_requires = ['numpy']
# What mmplug imports besides the OpenMMLab packages: mmplug/integration
# registers checkpoint types with torch.serialization.add_safe_globals, new in
# torch 2.4; the shapes data set draws with Pillow.
stack_requires = ['torch>=2.4', 'Pillow']
extras = {
    # mmdet 3.3 refuses mmcv >= 2.2; mmseg.models imports ftfy and regex
    # without declaring them.
    'openmmlab': stack_requires + [
        'mmengine>=0.10.0,<1.0', 'mmcv>=2.0.0,<2.2.0', 'mmdet>=3.0.0,<3.4.0',
        'mmsegmentation>=1.0.0,<1.3.0', 'mmpretrain>=1.0.0,<1.3.0', 'pycocotools', 'ftfy',
        'regex'],
    'onedl': stack_requires + [
        'onedl-mmengine>=0.10.8,<1.0', 'onedl-mmcv>=2.3.0,<2.4.0',
        'onedl-mmdetection>=3.4.0,<3.6.0', 'onedl-mmsegmentation>=1.3.0,<1.5.0',
        'onedl-mmpretrain>=1.3.0,<1.4.0', 'pycocotools'],
    'tests': ['pytest', 'timm>=1.0.16', 'onnx', 'onnxruntime'],
    # tools/analysis: timm twins in benchmark.py, plot.py's figure
    'analysis': ['timm>=1.0.16', 'matplotlib'],
    # mmplug_runtime alone (tools/deploy/infer.py, benchmark.py). Its OpenCV is
    # the build without GUI; a training environment has mmcv's opencv-python,
    # the same cv2, and needs only an engine added.
    'runtime': ['numpy', 'opencv-python-headless', 'Pillow', 'onnxruntime'],
    # mmplug_runtime's second engine
    'openvino': ['openvino'],
}

link_mim_files()
setup(
    name='mmplug',
    version=version(),
    description='InceptionNeXt, ConvNeXt, FasterNet, EMO and RefConv '
    'backbones for OpenMMLab detection and segmentation',
    long_description=(ROOT / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmplug', 'mmplug.*', 'mmplug_runtime']),
    package_data={'mmplug': ['.mim/model-index.yml', '.mim/configs/**/*.py',
                             '.mim/configs/**/*.yml', '.mim/tools/**/*.py', '.mim/tools/*.sh']},
    # the developer's set-up, install and runtime tests and documentation check are not tools
    # a user runs
    exclude_package_data={'mmplug': ['.mim/tools/setup_env.sh', '.mim/tools/stack.sh',
                                  '.mim/tools/install_test.sh', '.mim/tools/runtime_test.sh',
                                  '.mim/tools/docs_check.py']},
    python_requires='>=3.8',
    install_requires=install_requires,
    extras_require=extras,
    license='Apache-2.0',
)
