"""Packaging (issue 13): the licence, the extras, the build system, and the
licence header of every module.

The header test fails until ``python tools/add_license_headers.py`` has
been run (once) on the tree; from then on it keeps new modules honest.
"""

import configparser
import os
import re
import subprocess
import sys

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir))
SCRIPT = os.path.join(TOP, 'tools', 'add_license_headers.py')
HEADER_LINE = '# Licensed under the Apache License, Version 2.0 (the ' \
    '"License"); you may'


def _read(*path):
    with open(os.path.join(TOP, *path), encoding='utf-8') as f:
        return f.read()


def _requirement_names(text):
    names = set()
    for line in text.splitlines():
        line = line.split('#')[0].strip()
        if line:
            names.add(re.split(r'[<>=!~;\[ ]', line)[0].lower())
    return names


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(TOP, 'setup.cfg'))
    return parser


def test_the_licence_is_apache_2():
    text = _read('LICENSE')
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' \
        in text
    assert _setup_cfg()['metadata']['license'] == 'Apache-2.0'


def test_the_extras_bring_the_drivers():
    extras = _setup_cfg()['extras']
    assert set(extras) >= {'postgresql', 'mysql', 'libvirt'}
    assert _requirement_names(extras['postgresql']) == {'psycopg2-binary'}
    assert _requirement_names(extras['mysql']) == {'pymysql'}
    assert _requirement_names(extras['libvirt']) == {'libvirt-python'}


def test_libvirt_is_an_extra_not_a_requirement():
    """A control plane without libvirt's headers installs freezer-dr."""
    runtime = _requirement_names(_read('requirements.txt'))
    assert 'libvirt-python' not in runtime
    for driver in ('psycopg2-binary', 'psycopg2', 'psycopg', 'pymysql'):
        assert driver not in runtime
    # The tests still get them.
    assert _requirement_names(_read('test-requirements.txt')) >= {
        'libvirt-python', 'pymysql', 'psycopg2-binary'}


def test_the_build_system_is_pbrs():
    tomllib = pytest.importorskip('tomllib')    # (Python 3.11+)
    with open(os.path.join(TOP, 'pyproject.toml'), 'rb') as f:
        build = tomllib.load(f)['build-system']
    assert build['build-backend'] == 'pbr.build'
    assert _requirement_names('\n'.join(build['requires'])) == {
        'pbr', 'setuptools'}


def test_the_classifiers_claim_what_ci_runs():
    """CI runs Python 3.11 (Debian 12's python3): the classifiers claim
    that version and no other."""
    classifiers = _setup_cfg()['metadata']['classifier'].split('\n')
    versions = {c.strip().rsplit(':: ', 1)[1] for c in classifiers
                if re.fullmatch(r'Programming Language :: Python :: 3\.\d+',
                                c.strip())}
    assert versions == {'3.11'}


def test_release_notes_are_valid_yaml():
    import yaml
    directory = os.path.join(TOP, 'releasenotes', 'notes')
    names = sorted(n for n in os.listdir(directory) if n.endswith('.yaml'))
    assert names
    sections = {'prelude', 'features', 'issues', 'upgrade', 'deprecations',
                'critical', 'security', 'fixes', 'other'}
    for name in names:
        assert re.fullmatch(r'[a-z0-9-]+-[0-9a-f]{16}\.yaml', name), name
        with open(os.path.join(directory, name), encoding='utf-8') as f:
            note = yaml.safe_load(f)
        assert note and set(note) <= sections, (name, note)


def _python_files():
    for directory, subdirs, files in os.walk(os.path.join(TOP,
                                                          'freezer_dr')):
        subdirs[:] = [d for d in subdirs if d != '__pycache__']
        for name in files:
            if name.endswith('.py'):
                yield os.path.join(directory, name)


def test_every_module_has_the_licence_header():
    """Run ``python tools/add_license_headers.py`` to add it."""
    lacking = []
    for path in _python_files():
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if not text.strip():
            continue        # (an empty __init__.py stays empty: H104)
        leading = []
        for line in text.splitlines():
            if line.strip() and not line.startswith('#'):
                break
            leading.append(line)
        if HEADER_LINE not in leading:
            lacking.append(os.path.relpath(path, TOP))
    assert not lacking, ('%d modules lack the licence header (run "python '
                         'tools/add_license_headers.py"): %s'
                         % (len(lacking), ', '.join(sorted(lacking)[:5])))


@pytest.mark.parametrize('before, after', [
    ('"""Doc."""\nx = 1\n', '%s\n"""Doc."""\nx = 1\n'),
    ('#!/usr/bin/env python3\n"""Doc."""\n',
     '#!/usr/bin/env python3\n%s\n"""Doc."""\n'),
    ('#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\n\n"""Doc."""\n',
     '#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n%s\n"""Doc."""\n'),
    ('', ''),
])
def test_the_header_script(tmp_path, before, after):
    path = tmp_path / 'module.py'
    path.write_text(before)
    header_of = tmp_path / 'has.py'
    header_of.write_text('x = 1\n')
    subprocess.run([sys.executable, SCRIPT, str(header_of)], check=True,
                   capture_output=True)
    header = header_of.read_text()[:-len('\nx = 1\n')]
    assert header.startswith(HEADER_LINE)
    expected = after % header if '%s' in after else after
    for _ in range(2):      # (the second run changes nothing)
        subprocess.run([sys.executable, SCRIPT, str(path)], check=True,
                       capture_output=True)
        assert path.read_text() == expected
    check = subprocess.run([sys.executable, SCRIPT, '--check', str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
