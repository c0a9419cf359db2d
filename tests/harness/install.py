"""Install the cloud's services into their own cached virtualenvs.

Two virtualenvs: keystone + nova + placement together, glance alone (its
pins conflict with nova's). Each is installed from a committed freeze file
(never re-resolved) with uv, into ``~/.cache/freezer-dr/`` under a name
keyed by the Python version and the freeze file's hash, so a warm check is
a stamp file and nothing else. None of this is a requirement of freezer-dr.

    python -m tests.harness.install      # install (or check) both
"""

import hashlib
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get('FREEZER_DR_CACHE',
                       os.path.expanduser('~/.cache/freezer-dr'))
FREEZE_FILES = {
    'openstack': os.path.join(HERE, 'requirements-openstack.txt'),
    'glance': os.path.join(HERE, 'requirements-glance.txt'),
}


class InstallError(Exception):
    pass


def _python():
    return os.environ.get('FREEZER_DR_CLOUD_PYTHON') or sys.executable


def _key(name):
    with open(FREEZE_FILES[name], 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return 'py%d.%d-%s' % (sys.version_info[:2] + (digest,))


def venv_path(name):
    return os.path.join(CACHE, 'cloud-%s-%s' % (name, _key(name)))


def _uv():
    """uv in a small tool virtualenv of its own (pip would take a minute
    more per cold install)."""
    tool = os.path.join(CACHE, 'uv-tool')
    uv = os.path.join(tool, 'bin', 'uv')
    if not os.path.exists(uv):
        subprocess.run([_python(), '-m', 'venv', tool], check=True,
                       capture_output=True)
        subprocess.run([os.path.join(tool, 'bin', 'pip'), 'install', '-q',
                        'uv'], check=True, capture_output=True)
    return uv


def ensure(name, log=print):
    """The path of virtualenv ``name``, installed if it is not yet."""
    path = venv_path(name)
    stamp = os.path.join(path, '.freezer-dr-installed')
    if os.path.exists(stamp):
        return path
    began = time.monotonic()
    log('Installing the %s virtualenv into %s (once; cached)' % (name, path))
    uv = _uv()
    env = dict(os.environ, VIRTUAL_ENV=path)
    try:
        subprocess.run([uv, 'venv', '-q', '--allow-existing', '-p',
                        _python(), path], check=True, capture_output=True,
                       text=True)
        # Bytecode now: PYTHONDONTWRITEBYTECODE is set on these machines,
        # and importing nova without it doubles every service's start.
        subprocess.run([uv, 'pip', 'install', '-q', '--compile-bytecode',
                        '--no-deps', '-r', FREEZE_FILES[name]],
                       check=True, capture_output=True, text=True, env=env)
    except subprocess.CalledProcessError as exc:
        raise InstallError('installing the %s virtualenv failed:\n%s'
                           % (name, exc.stderr)) from None
    with open(stamp, 'w') as f:
        f.write('%.1f s\n' % (time.monotonic() - began))
    log('Installed %s in %.0f s' % (name, time.monotonic() - began))
    return path


def ensure_all(log=print):
    return {name: ensure(name, log) for name in FREEZE_FILES}


if __name__ == '__main__':
    for name, path in ensure_all().items():
        print(name, path)
