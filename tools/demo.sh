#!/usr/bin/env bash
# The demo: a real OpenStack on this machine (keystone, placement, glance,
# nova with the fake driver, 3 compute hosts behind IPMI BMC simulators)
# loses a compute host; freezer-dr-engine declares it dead, fences it,
# isolates it in nova, evacuates its instances and mails the projects.
# The timeline is saved in demo-output/ (JSON and PNG).
#
#   tools/demo.sh             the cloud demo
#   tools/demo.sh --replay    also replay bundled recordings of a 50-host
#                             cloud through the liveness core
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv >/dev/null
ensure_services
cd "$TOP"
python tools/demo.py

if [ "${1:-}" = "--replay" ]; then
    cd "$TOP/tests/recordings"
    for recording in one-host-dies pause-80 storm-40 bus-drop \
            nova-forced-down; do
        echo
        echo "=== $(zcat "$recording.jsonl.gz" | head -1 | python -c \
            'import json,sys; print(json.load(sys.stdin)["description"])')"
        echo "    \$ freezer-dr-replay --exclude-actions up $recording.jsonl.gz"
        freezer-dr-replay --exclude-actions up "$recording.jsonl.gz"
    done
fi
