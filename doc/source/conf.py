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

"""Sphinx configuration of freezer-dr's documentation: ``tox -e docs``
(the tests build it too, warnings as errors). Sphinx's own theme: the
build needs no network."""

extensions = ['oslo_config.sphinxext', 'sphinx.ext.graphviz']

project = 'freezer-dr'
copyright = '2026, freezer-dr developers'
author = 'freezer-dr developers'

master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_static_path = []
