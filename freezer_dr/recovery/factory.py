# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Building the recovery from the configuration, and checking it before
the first host dies.

:func:`build_workflow` loads the drivers ``[recovery]`` names;
:func:`check_workflow` is what the engine (and the one-shot command) run at
start: every driver's ``validate()``, then the fencer against every host
known at start (its own credentials, and nova's compute services through
the isolator). A configuration that cannot work raises
:class:`~freezer_dr.drivers.base.ConfigurationError`, one line naming the
option to fix; one that covers only some hosts gives a warning per host.
"""

import logging
import pkgutil

from freezer_dr import drivers
from freezer_dr.drivers import base
from freezer_dr.recovery import workflow

LOG = logging.getLogger(__name__)

ConfigurationError = base.ConfigurationError


def load_driver(namespace, name, conf):
    """Driver ``name`` of ``namespace`` built with ``conf=conf``; a name
    ``package.module:Class`` is imported instead (plugins that are not
    installed, such as the test drivers under tests/).

    :raises drivers.DriverNotFound: saying why.
    """
    if ':' not in name:
        return drivers.load(namespace, name, conf=conf)
    try:
        return pkgutil.resolve_name(name)(conf=conf)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise drivers.DriverNotFound('the %s driver %r cannot be loaded: '
                                     '%s: %s' % (namespace, name,
                                                 type(exc).__name__, exc)
                                     ) from exc


def load_isolator(conf):
    """The isolator of ``[recovery] isolator`` (``noop`` when the
    deprecated ``[recovery] isolate`` is false)."""
    name = conf.recovery.isolator
    if not conf.recovery.isolate:
        LOG.warning('[recovery] isolate = false is deprecated: read as '
                    '[recovery] isolator = noop')
        name = 'noop'
    return load_driver(drivers.ISOLATORS, name, conf)


def build_workflow(conf, journal):
    """The Workflow that ``[recovery]`` describes.

    :raises drivers.DriverNotFound: for a driver that cannot be loaded.
    """
    rc = conf.recovery
    if rc.unfenced_evacuation_hosts:
        LOG.warning('[recovery] unfenced_evacuation_hosts overrides safety '
                    'rule 1 for: %s', ', '.join(rc.unfenced_evacuation_hosts))
    return workflow.Workflow(
        journal,
        fencer=load_driver(drivers.FENCERS, rc.fencer, conf),
        isolator=load_isolator(conf),
        evacuator=load_driver(drivers.EVACUATORS, rc.evacuator, conf),
        notifiers={name: load_driver(drivers.NOTIFIERS, name, conf)
                   for name in rc.notifiers},
        unfenced_evacuation=rc.unfenced_evacuation_hosts,
        step_attempts=rc.step_attempts, step_retry_delay=rc.step_retry_delay,
        fence_budget=(rc.max_fences, rc.fence_window),
        already_off_recheck=rc.already_off_recheck)


def check_workflow(flow):
    """Check ``flow``'s drivers before any host is recovered; return the
    warnings (each already logged).

    :raises ConfigurationError: naming the option to fix.
    """
    warnings = []
    for what, driver in flow.drivers().items():
        try:
            warnings.extend(driver.validate())
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError(what, 'the driver cannot start: %s: %s'
                                     % (type(exc).__name__, exc)) from exc
    fencer, override = flow.fencer, flow.unfenced_evacuation
    known = sorted(set(fencer.hosts()) | set(flow.isolator.hosts()))
    name = type(fencer).__name__
    if not fencer.CAN_CONFIRM:
        # Safety rule 1 would fail every recovery at its fence step: say so
        # now, not when a host dies.
        uncovered = [h for h in known if h not in override]
        if not override or uncovered:
            raise ConfigurationError(
                '[recovery] unfenced_evacuation_hosts',
                'the fencer %s cannot confirm power-off, so no host is '
                'evacuated after it unless listed here (%s); choose a '
                'fencer that confirms with [recovery] fencer' % (
                    name, 'the list is empty' if not override else
                    'not listed: ' + ', '.join(uncovered)))
        warnings.append('the fencer %s cannot confirm power-off: the '
                        'instances of %s are evacuated without a confirmed '
                        'fence ([recovery] unfenced_evacuation_hosts)'
                        % (name, ', '.join(sorted(override))))
    else:
        uncovered = {}
        for host in known:
            why = fencer.check_host(host)
            if why:
                uncovered[host] = why
        if known and len(uncovered) == len(known):
            raise ConfigurationError(
                fencer.HOSTS_OPTION, 'the fencer %s can fence none of the '
                '%d known hosts (%s: %s)' % (
                    name, len(known), known[0], uncovered[known[0]]))
        for host, why in sorted(uncovered.items()):
            if host not in override:
                warnings.append('host %s cannot be fenced by %s (%s): if it '
                                'dies it is NOT evacuated; fix %s'
                                % (host, name, why, fencer.HOSTS_OPTION))
    for warning in warnings:
        LOG.warning('Start-up check: %s', warning)
    return warnings
