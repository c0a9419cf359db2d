#!/usr/bin/env python3
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

"""Add the Apache License header, as OpenStack projects have it, to every
Python file that lacks it.

Usage: python tools/add_license_headers.py [--check] [PATH ...]

PATHs are files or directories (searched for ``*.py``, and ``*.py.mako``:
alembic's template, so that new migrations have it too); ``freezer_dr`` of
this repository by default. The header goes first, after a shebang line and
an encoding declaration if there are any, then a blank line, then the file
as it was (its module docstring stays its docstring: comments are not
statements). A file that has it already is left alone, so running it again
changes nothing; an empty file (an ``__init__.py``) stays empty, as
OpenStack's hacking check H104 wants. ``--check`` changes nothing and
exits 1, listing them, when some file lacks it.
"""

import argparse
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))

HEADER = '''\
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
'''

#: What says a file has the header (in its leading comments).
MARK = re.compile(r'^#.*Licensed under the Apache License, Version 2\.0',
                  re.MULTILINE)
#: PEP 263: an encoding declaration, on the first or second line.
CODING = re.compile(r'^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+')


def has_header(text):
    """Does ``text`` have the header in its leading comment block? An empty
    file needs none."""
    if not text.strip():
        return True
    leading = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith('#'):
            break
        leading.append(line)
    return MARK.search('\n'.join(leading)) is not None


def with_header(text):
    """``text`` with the header (unchanged if it has it already)."""
    if has_header(text):
        return text
    newline = '\r\n' if '\r\n' in text else '\n'
    lines = text.splitlines(keepends=True)
    keep = 0
    if lines and lines[0].startswith('#!'):
        keep = 1
    if len(lines) > keep and CODING.match(lines[keep]):
        keep += 1
    head = ''.join(lines[:keep])
    rest = ''.join(lines[keep:]).lstrip('\r\n')
    header = HEADER.replace('\n', newline)
    if head and not head.endswith(('\n', '\r')):
        head += newline
    return head + header + (newline + rest if rest else '')


#: Directories never searched: not this project's own code.
SKIP = {'__pycache__', 'site-packages', 'build', 'dist', 'node_modules'}


def python_files(paths):
    """The Python files of ``paths``, never through a symbolic link nor in
    a virtualenv."""
    for path in paths:
        if os.path.isfile(path):
            if not os.path.islink(path):
                yield path
            continue
        for directory, subdirs, files in os.walk(path):
            subdirs[:] = sorted(
                d for d in subdirs if d not in SKIP and not d.startswith('.')
                and not os.path.exists(os.path.join(directory, d,
                                                    'pyvenv.cfg')))
            for name in sorted(files):
                full = os.path.join(directory, name)
                if name.endswith(('.py', '.py.mako')) and \
                        not os.path.islink(full):
                    yield full


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 if a file lacks it')
    parser.add_argument('paths', nargs='*',
                        default=[os.path.join(TOP, 'freezer_dr')])
    args = parser.parse_args(argv)
    lacking = []
    for path in python_files(args.paths):
        with open(path, encoding='utf-8', newline='') as f:
            text = f.read()
        if has_header(text):
            continue
        lacking.append(path)
        if not args.check:
            with open(path, 'w', encoding='utf-8', newline='') as f:
                f.write(with_header(text))
    for path in lacking:
        print(('lacks the header: %s' if args.check else 'header added: %s')
              % os.path.relpath(path))
    return 1 if args.check and lacking else 0


if __name__ == '__main__':
    sys.exit(main())
