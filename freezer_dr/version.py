"""freezer-dr's version (from the installed package's metadata, or git
through pbr), for ``--version`` of every command."""

import pbr.version

version_info = pbr.version.VersionInfo('freezer-dr')


def version_string():
    return version_info.version_string()
