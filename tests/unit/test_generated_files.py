"""Generated files in the tree must be fresh."""

import os
import subprocess
import sys

from oslo_config import generator

from freezer_dr.conf import opts

TOP = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


def test_config_sample_is_fresh(tmp_path):
    fresh = tmp_path / 'freezer-dr.conf.sample'
    generator.main(['--config-file', os.path.join(
        TOP, 'etc', 'freezer-dr', 'freezer-dr-config-generator.conf'),
        '--output-file', str(fresh)])
    with open(os.path.join(TOP, 'etc', 'freezer-dr',
                           'freezer-dr.conf.sample')) as committed:
        assert fresh.read_text() == committed.read(), (
            'etc/freezer-dr/freezer-dr.conf.sample is stale: run '
            'tox -e genconfig')


def test_every_option_has_help():
    for group, options in opts.list_opts():
        assert group.help
        for opt in options:
            assert opt.help and len(opt.help) > 20, opt.name


def test_host_states_doc_is_fresh(tmp_path):
    fresh = tmp_path / 'host-states.rst'
    subprocess.run([sys.executable, os.path.join(TOP, 'tools',
                                                 'states_to_doc.py'),
                    str(fresh)], check=True, capture_output=True)
    with open(os.path.join(TOP, 'doc', 'source',
                           'host-states.rst')) as committed:
        assert fresh.read_text() == committed.read(), (
            'doc/source/host-states.rst is stale: run '
            'python tools/states_to_doc.py')
