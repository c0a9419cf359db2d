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

"""Drivers: monitors, fencers, isolators, evacuators and notifiers, loaded
by name through stevedore from the namespaces below. One package per kind
(``fencers/``, ``notifiers/``, ...; ``nova/`` holds nova's isolator and
evacuator); ``base.py`` is the whole contract."""

from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception
from stevedore import extension

from freezer_dr.drivers import base

MONITORS = 'freezer_dr.monitors'
FENCERS = 'freezer_dr.fencers'
ISOLATORS = 'freezer_dr.isolators'
EVACUATORS = 'freezer_dr.evacuators'
NOTIFIERS = 'freezer_dr.notifiers'
NAMESPACES = (MONITORS, FENCERS, ISOLATORS, EVACUATORS, NOTIFIERS)


class DriverNotFound(Exception):
    """No plugin of that name, or it could not be loaded; says which."""


def load(namespace, name, **kwargs):
    """An instance of driver ``name`` of ``namespace``, built with
    ``kwargs``.

    :raises DriverNotFound: naming the namespace, the plugin and why.
    :raises base.ConfigurationError: the driver's own options cannot work
        (it names the option).
    """
    try:
        return stevedore_driver.DriverManager(
            namespace, name, invoke_on_load=True, invoke_kwds=kwargs,
            on_load_failure_callback=_reraise).driver
    except base.ConfigurationError:
        raise
    except stevedore_exception.NoMatches:
        raise DriverNotFound('no %s driver named %r (installed: %s)'
                             % (namespace, name,
                                ', '.join(available(namespace)) or 'none')
                             ) from None
    except Exception as exc:
        raise DriverNotFound('the %s driver %r cannot be loaded: %s: %s'
                             % (namespace, name, type(exc).__name__, exc)
                             ) from exc


def available(namespace):
    """Names of the installed drivers of ``namespace``, sorted."""
    return sorted(extension.ExtensionManager(namespace).names())


def _reraise(manager, entrypoint, exc):
    raise exc
