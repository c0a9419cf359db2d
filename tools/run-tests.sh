#!/usr/bin/env bash
# Run the whole test suite (lint included). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv
ensure_services
cd "$TOP"
echo "== ruff" >&2
ruff check freezer_dr tests tools bench releasenotes
echo "== shellcheck" >&2
shellcheck -x -s bash devstack/plugin.sh devstack/settings devstack/lib/freezer-dr
echo "== pytest" >&2
set +e
python -m pytest tests "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
    echo "pytest collected no test: that is a failure here" >&2
    exit 1
fi
exit "$status"
