"""Generated files in the tree must be fresh."""

from importlib import metadata
import os
import re
import subprocess
import sys

from freezer_dr.conf import opts

TOP = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


GENERATOR = os.path.join(TOP, 'etc', 'freezer-dr',
                         'freezer-dr-config-generator.conf')
SAMPLE = os.path.join(TOP, 'etc', 'freezer-dr', 'freezer-dr.conf.sample')


def _library_versions_of_sample():
    """The oslo.log and oslo.messaging versions the committed sample was
    generated with (a comment of the generator's configuration)."""
    with open(GENERATOR) as f:
        match = re.search(r'^# oslo\.log (\S+), oslo\.messaging (\S+)$',
                          f.read(), re.M)
    return match.groups()


def _generate(tmp_path, *namespaces):
    """The sample as the generator writes it, in an interpreter of its own
    (other tests change library defaults in this one: oslo.messaging's
    control_exchange)."""
    fresh = tmp_path / 'sample'
    args = ['--output-file', str(fresh), '--wrap-width', '79']
    if namespaces:
        for namespace in namespaces:
            args += ['--namespace', namespace]
    else:
        args = ['--config-file', GENERATOR] + args
    subprocess.run([sys.executable, '-c', 'import sys; from oslo_config '
                    'import generator; generator.main(sys.argv[1:])',
                    *args], check=True, capture_output=True, timeout=120,
                   cwd=TOP, env=dict(os.environ, PYTHONPATH=TOP))
    return fresh.read_text()


def test_config_sample_is_fresh(tmp_path):
    """The committed sample is what the generator writes. Its oslo.log and
    oslo.messaging options change with those libraries' releases: with
    other versions installed than the sample's, every option of
    freezer-dr's own must still be in it, in its section."""
    with open(SAMPLE) as committed:
        sample = '\n' + committed.read()
    installed = (metadata.version('oslo.log'),
                 metadata.version('oslo.messaging'))
    if installed == _library_versions_of_sample():
        assert '\n' + _generate(tmp_path) == sample, (
            'etc/freezer-dr/freezer-dr.conf.sample is stale: run '
            'tox -e genconfig')
        return
    ours = _generate(tmp_path, 'freezer_dr')
    for block in re.split(r'^(?=\[)', ours, flags=re.M):
        if not block.startswith('['):
            continue
        header = block.split('\n', 1)[0]
        line = '\n' + header + '\n'
        assert line in sample, header
        section = sample.split(line, 1)[1].split('\n[', 1)[0]
        for line in block.splitlines():
            if line.startswith('#') and ' = ' in line:
                assert line in section, (
                    '%s %s is not in the sample: run tox -e genconfig'
                    % (header, line))


def test_oslo_config_validator_accepts_the_sample():
    found = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable),
                      'oslo-config-validator'), '--config-file', GENERATOR,
         '--input-file', SAMPLE], capture_output=True, text=True,
        cwd=TOP, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr


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
