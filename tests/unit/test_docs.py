"""The documentation builds (doc/source, Sphinx, warnings as errors), with
every option's help from freezer_dr.conf."""

import os
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir))


def test_the_documentation_builds(tmp_path):
    built = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-q', '-W', '-b', 'html',
         os.path.join(TOP, 'doc', 'source'), str(tmp_path / 'html')],
        capture_output=True, text=True, timeout=300, cwd=TOP,
        env=dict(os.environ, PYTHONPATH=TOP))
    assert built.returncode == 0, built.stdout + built.stderr
    options = (tmp_path / 'html' / 'configuration.html').read_text()
    assert 'heartbeat_master_key_file' in options
    assert 'listen_address' in options
    assert (tmp_path / 'html' / 'upstream-config.html').exists()
    runbook = (tmp_path / 'html' / 'runbook.html').read_text()
    assert 'A storm was held' in runbook
