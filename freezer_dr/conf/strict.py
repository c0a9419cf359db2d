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

"""Strict configuration: every section and option of the configuration
files must be one freezer-dr knows, and every value must be of its type.

oslo.config ignores what it does not know: a misspelt option
(``notifers = email``) would silently leave the default in place, which for
this service means a fencer, evacuator or notifier that is not the one the
operator chose. So every command checks its files at start and refuses to
start on the first problem, with one line that names the file, the section,
the option and the nearest valid name.

What is known: freezer-dr's own options (:func:`freezer_dr.conf.opts.
list_opts`, drivers' groups included), oslo.log's and oslo.messaging's
(the sections an OpenStack operator expects beside them), keystoneauth1's
session and auth options in the groups that authenticate (with the options
of the configured ``auth_type``), and the deprecated names of all of these.
Names are checked after :mod:`freezer_dr.conf.upstream` translated the
files (dashed names such as ``credentials-file``, and an upstream
freezer-dr configuration): a name that is still unknown gets the nearest
valid one suggested.
"""

import difflib
import glob
import os

from oslo_config import cfg
import stevedore

#: The option namespaces (``oslo.config.opts`` entry points) whose options
#: are valid in freezer-dr's configuration files, besides its own.
LIBRARY_NAMESPACES = ('oslo.log', 'oslo.messaging')


class UnknownOption(ValueError):
    """A section or option of a configuration file that nothing reads."""


class BadValue(ValueError):
    """A value that is not of its option's type."""


def _norm(name):
    # (oslo.config's name of an option in a file: its dest.)
    return name.replace('-', '_')


def _group_name(group):
    if group is None:
        return 'DEFAULT'
    return getattr(group, 'name', group)


def _add(known, group, opts):
    names = known.setdefault(_group_name(group), set())
    for opt in opts:
        names.add(opt.dest)
        for old in opt.deprecated_opts:
            target = known.setdefault(
                old.group or _group_name(group), set())
            if old.name:
                target.add(_norm(old.name))


def _library_opts():
    found = []
    manager = stevedore.NamedExtensionManager(
        'oslo.config.opts', names=LIBRARY_NAMESPACES, invoke_on_load=True,
        on_load_failure_callback=None)
    for extension in manager:
        found.extend(extension.obj)
    return found


def known_options(sections):
    """``{section: {option names}}``: what may appear in the files whose
    parsed ``sections`` are given (they choose the keystoneauth plugins
    whose options are known)."""
    from keystoneauth1 import loading as ks_loading

    from freezer_dr.conf import opts as our_opts
    known = {}
    for group, opts in our_opts.list_opts() + _library_opts():
        _add(known, group, opts)
    keystone_opts = (ks_loading.get_session_conf_options() +
                     ks_loading.get_auth_common_conf_options())
    for group, names in list(known.items()):
        if 'auth_type' not in names:
            continue
        _add(known, group, keystone_opts)
        values = sections.get(group, {}).get('auth_type') or \
            sections.get(group, {}).get('auth-type') or ['password']
        try:
            _add(known, group,
                 ks_loading.get_auth_plugin_conf_options(values[-1]))
        except Exception:       # an unknown plugin: keystoneauth says so
            _add(known, group,
                 ks_loading.get_auth_plugin_conf_options('password'))
    return known


def config_files(conf):
    """The configuration files ``conf`` read, in order."""
    files = list(conf.config_file or [])
    for directory in conf.config_dir or []:
        files += sorted(glob.glob(os.path.join(directory, '*.conf')))
    return [f for f in files if os.path.exists(f)]


def _parse(path):
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


def _nearest(name, candidates):
    found = difflib.get_close_matches(name, sorted(candidates), n=1,
                                      cutoff=0.6)
    return ' (did you mean %s?)' % found[0] if found else ''


def check_names(conf):
    """Raise :class:`UnknownOption` for the first section or option of
    ``conf``'s files that nothing reads."""
    parsed = [(path, _parse(path)) for path in config_files(conf)]
    merged = {}
    for _, sections in parsed:
        for section, values in sections.items():
            merged.setdefault(section, {}).update(values)
    known = known_options(merged)
    for path, sections in parsed:
        for section, values in sections.items():
            names = known.get(section)
            if names is None:
                raise UnknownOption(
                    'unknown section [%s] in %s%s' % (
                        section, path, _nearest(section, known)))
            for name in values:
                if name not in names:
                    raise UnknownOption(
                        'unknown option [%s] %s in %s%s' % (
                            section, name, path,
                            _nearest(_norm(name), names)))


def check_values(conf, groups=None):
    """Read every registered option of ``groups`` (every group when None)
    and of [DEFAULT]; raise :class:`BadValue` naming ``[section] option``
    for the first value that is not of its type."""
    wanted = [None] + list(conf._groups if groups is None else groups)
    for group in wanted:
        names = list(conf._opts if group is None else
                     conf[group]._group._opts if group in conf._groups
                     else ())
        for name in names:
            try:
                if group is None:
                    getattr(conf, name)
                else:
                    conf[group][name]
            except cfg.RequiredOptError:
                continue        # (a value missing: its user says so)
            except (cfg.ConfigFileValueError, ValueError) as exc:
                reason = str(exc)
                if ' is not valid: ' in reason:
                    reason = reason.split(' is not valid: ', 1)[1]
                raise BadValue('bad value for [%s] %s: %s' % (
                    group or 'DEFAULT', name, reason)) from None
