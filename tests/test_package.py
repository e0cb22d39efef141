"""mmplug as a package other projects use: its configs inside the package
(``mmplug/.mim``), ``mmplug::`` inheritance from a config in any folder, and
the model index."""
import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

import mmplug
from mmplug.analysis import COLLECTIONS, NOT_IN_A_PAPER, PAPER, WEIGHTS, n_params, paper_metrics
from mmplug.mim import MIM, config_path, list_configs
from tests.helpers import ROOT, build_model, write_demo_config

#: One config of each downstream library, and what a user's config changes.
INHERITED = {
    'det/fasternet_s_maskrcnn.py': 'model = dict(backbone=dict(drop_path_rate=0.2))',
    'seg/inceptionnext_t_fpn.py': 'model = dict(decode_head=dict(num_classes=19))',
    'cls/emo_1m_in1k.py': 'train_dataloader = dict(batch_size=32)',
}


def test_package_carries_the_repositorys_configs_tools_and_index():
    assert (MIM / 'configs').resolve() == (ROOT / 'configs').resolve()
    assert (MIM / 'tools' / 'train.py').is_file() and (MIM / 'model-index.yml').is_file()
    shipped = list_configs()
    assert shipped == sorted(p.relative_to(ROOT / 'configs').as_posix()
                             for p in (ROOT / 'configs').rglob('*.py'))
    assert config_path('mmplug::det/emo_1m_ssdlite.py') == MIM / 'configs/det/emo_1m_ssdlite.py'


def test_unknown_config_names_the_known_ones():
    with pytest.raises(FileNotFoundError, match=r'mmplug::det/fasternet_x_maskrcnn\.py; known: '
                       r'.*det/fasternet_s_maskrcnn\.py'):
        config_path('det/fasternet_x_maskrcnn.py')
    with pytest.raises(FileNotFoundError, match='task folders cls, demo, det, seg'):
        config_path('mmplug::detection/fasternet_s_maskrcnn.py')


def _strip(value, drop):
    """``value`` (a config's dict) without the keys of ``drop``, recursively."""
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, (list, tuple)):
        return [_strip(v, drop) for v in value]
    return value


@pytest.mark.parametrize('name', sorted(INHERITED))
def test_mmplug_base_reads_as_the_file_itself(tmp_path, name):
    """A config in another folder inheriting ``mmplug::`` is the config read
    from its file plus the user's change, scopes included: the downstream
    library's dicts keep their ``_scope_`` (and none gets ``mmplug``'s)."""
    user = tmp_path / 'elsewhere' / 'my_config.py'
    user.parent.mkdir()
    user.write_text(f'_base_ = {"mmplug::" + name!r}\n{INHERITED[name]}\n')
    mine = Config.fromfile(str(user)).to_dict()
    direct = Config.fromfile(str(ROOT / 'configs' / name))
    direct.merge_from_dict(Config.fromstring(INHERITED[name], '.py').to_dict())
    direct = direct.to_dict()
    assert mine == direct
    scopes = set()

    def collect(value):
        if isinstance(value, dict):
            if '_scope_' in value:
                scopes.add(value['_scope_'])
            for v in value.values():
                collect(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                collect(v)
    collect(mine)
    assert scopes == {mine['default_scope']}  # mmdet, mmseg or mmpretrain, never mmplug
    assert _strip(mine, {'_scope_'}) != mine  # the bases' scopes are there


def test_mmplug_base_builds_in_the_downstream_registries(tmp_path):
    user = tmp_path / 'my_ssdlite.py'
    user.write_text("_base_ = 'mmplug::det/emo_1m_ssdlite.py'\n")
    model = build_model(str(user))
    assert type(model).__module__.startswith('mmdet.') and type(model.backbone).__name__ == 'EMO'
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(str(user))
    init_default_scope(cfg.default_scope)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(wrapper.optimizer).__name__ == cfg.optim_wrapper.optimizer.type


def test_tools_take_mmplug_config_names():
    from mmplug.cli import read_config
    cfg = read_config('mmplug::cls/emo_1m_in1k.py', dict(train_dataloader=dict(batch_size=8)))
    assert cfg.default_scope == 'mmpretrain' and cfg.train_dataloader.batch_size == 8
    with pytest.raises(FileNotFoundError, match='mmplug ships no config mmplug::cls/emo_3m'):
        read_config('mmplug::cls/emo_3m_in1k.py')


def test_mmplug_bases_need_mmplug_imported_first(tmp_path):
    """What a user of mmdet's own tools/train.py meets: mmengine alone does
    not know ``mmplug::`` (custom_imports run after the bases are read)."""
    user = tmp_path / 'my_config.py'
    user.write_text("_base_ = 'mmplug::cls/emo_1m_in1k.py'\n")
    code = textwrap.dedent(f'''
        from mmengine.config import Config
        try:
            Config.fromfile({str(user)!r})
        except AssertionError as e:
            print('REFUSED', e)
        import mmplug
        print('DEFAULT_SCOPE', Config.fromfile({str(user)!r}).default_scope)
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'REFUSED mmengine does not support to load mmplug config' in out.stdout
    assert 'DEFAULT_SCOPE mmpretrain' in out.stdout


def _index():
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    entries = {}
    for meta in index['Import']:
        doc = yaml.safe_load((ROOT / meta).read_text())
        names = {c['Name'] for c in doc['Collections']}
        for model in doc['Models']:
            assert model['In Collection'] in names
            entries[model['Config']] = model
    return entries


def test_model_index_lists_every_paper_config_with_the_papers_figures():
    entries = _index()
    configs = {f'configs/{n}.py' for n in list(PAPER) + list(NOT_IN_A_PAPER)}
    assert set(entries) == configs
    assert {e['In Collection'] for e in entries.values()} == {c['name']
                                                              for c in COLLECTIONS.values()}
    for config, entry in entries.items():
        name = config[len('configs/'):-len('.py')]
        assert (ROOT / config).is_file()
        assert entry.get('Weights') == WEIGHTS.get(name)
        if name in PAPER:
            indexed = {m: v for r in entry['Results'] for m, v in r['Metrics'].items()}
            paper = sorted(v for v, _ in paper_metrics(PAPER[name].result).values())
            assert sorted(indexed.values()) == paper


@pytest.mark.parametrize('name', ['cls/fasternet_t0_in1k', 'det/emo_1m_ssdlite'])
def test_model_index_parameters_are_the_models(name):
    entry = _index()[f'configs/{name}.py']
    assert entry['Metadata']['Parameters'] == n_params(build_model(str(config_path(name + '.py'))))


def test_import_mmplug_keeps_mmengines_other_packages():
    from mmengine.config.utils import MODULE2PACKAGE
    assert MODULE2PACKAGE['mmdet'] in ('mmdet', 'onedl-mmdetection')
    assert MODULE2PACKAGE['mmplug'] == 'mmplug'
    assert mmplug.__version__ == importlib.metadata.version('mmplug')


def _pins(path: Path) -> dict:
    pins = {}
    for line in path.read_text().splitlines():
        if '==' in line and not line.startswith('#'):
            name, version = line.split('#')[0].strip().split('==')
            pins[name.lower()] = version
    return pins


@pytest.mark.parametrize('stack, pins', [('openmmlab', 'stack.txt'), ('onedl', 'stack-onedl.txt')])
def test_extras_admit_their_pinned_stack(stack, pins):
    """Each stack's extra of the installed mmplug (and its plain requirements)
    admits the versions pinned for that stack, and names only its packages."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement
    pinned = {**_pins(ROOT / 'requirements/common.txt'), **_pins(ROOT / 'requirements' / pins)}
    wanted = []
    for line in requires('mmplug'):
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({'extra': stack}):
            wanted.append(req)
    named = {r.name.lower() for r in wanted}
    assert {'torch', 'numpy'} <= named
    assert any(n.endswith('mmdetection') or n == 'mmdet' for n in named)
    for req in wanted:
        if req.name.lower() in pinned:
            assert req.specifier.contains(pinned[req.name.lower()]), (req, pinned[req.name.lower()])
        else:
            assert req.name.lower() in ('pillow', ), f'{req} is not pinned for {stack}'
    other = {'openmmlab': 'onedl-', 'onedl': 'mmdet'}[stack]
    assert not any(n.startswith(other) for n in named)


@pytest.mark.parametrize('library, demo', [
    ('mmdet', 'demo/fasternet_t0_maskrcnn_shapes.py'),
    ('mmseg', 'demo/inceptionnext_atto_upernet_shapes.py'),
])
def test_the_librarys_own_train_py_runs_mmplug_configs_with_one_import(tmp_path, library, demo):
    """What docs/own_config.md tells a user of mmdet's or mmseg's own
    tools/train.py (the copy their package installs): add ``import mmplug``
    at its top, and an ``mmplug::`` config trains."""
    import importlib.util
    tool = Path(importlib.util.find_spec(library).origin).parent / '.mim/tools/train.py'
    if not tool.is_file():
        pytest.skip(f'{library} installed without its tools')
    if library == 'mmseg':  # an iteration-based schedule
        loop = dict(train_cfg='dict(max_iters=2, val_interval=2)', param_scheduler='[]',
                    default_hooks='dict(checkpoint=dict(interval=2))')
        saved = 'iter_2.pth'
    else:
        loop, saved = dict(train_cfg='dict(max_epochs=1, val_interval=1)'), 'epoch_1.pth'
    cfg = write_demo_config(tmp_path, base=f'mmplug::{demo}', train=4, val=2,
                            seg=library == 'mmseg', **loop)
    work = tmp_path / 'work'
    code = ('import mmplug\nimport runpy, sys\n'
            f'sys.argv = [{str(tool)!r}, {str(cfg)!r}, "--work-dir", {str(work)!r}]\n'
            f'runpy.run_path({str(tool)!r}, run_name="__main__")\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert (work / saved).is_file()
