"""freezer-dr-agent runs on every compute node: it must not drag in the
journal, the recovery, the drivers or SQLAlchemy."""

import json
import subprocess
import sys

FORBIDDEN = ('freezer_dr.journal', 'freezer_dr.recovery',
             'freezer_dr.drivers', 'sqlalchemy')


def _loaded_by(module):
    """The modules a fresh interpreter holds after importing ``module``."""
    code = ('import json, sys; import %s; '
            'print(json.dumps(sorted(sys.modules)))' % module)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return json.loads(out.splitlines()[-1])


def _forbidden(loaded):
    return [name for name in loaded
            if any(name == f or name.startswith(f + '.') for f in FORBIDDEN)]


def test_the_agent_loads_no_journal_recovery_drivers_nor_sqlalchemy():
    loaded = _loaded_by('freezer_dr.cmd.agent')
    assert 'freezer_dr.cmd.agent' in loaded
    assert _forbidden(loaded) == []


def test_the_check_would_see_them():
    # (The same check finds them in the engine's command.)
    assert set(_forbidden(_loaded_by('freezer_dr.cmd.engine'))) >= {
        'freezer_dr.journal', 'freezer_dr.recovery', 'freezer_dr.drivers',
        'sqlalchemy'}
