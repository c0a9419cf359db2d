#!/usr/bin/env bash
# The demo: replay bundled recordings of a 50-host cloud through the
# liveness core and show what freezer-dr decides.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv >/dev/null
cd "$TOP/tests/recordings"

show() {
    echo
    echo "=== $1"
    echo "    $(zcat "$2" | head -1 | python -c 'import json,sys; print(json.load(sys.stdin)["description"])')"
    echo "    \$ freezer-dr-replay --exclude-actions up $2"
    echo
    freezer-dr-replay --exclude-actions up "$2"
}

show "One compute host dies" one-host-dies.jsonl.gz
show "A host pauses for 80 % of the detection window: suspected, never declared dead" pause-80.jsonl.gz
show "40 % of the hosts go silent at once: the storm guard holds them all" storm-40.jsonl.gz
show "The engine loses the bus for a minute: nobody is declared dead" bus-drop.jsonl.gz
show "nova forces a host down while its heartbeats continue" nova-forced-down.jsonl.gz
echo
echo "Fencing, isolation in nova, evacuation and notification are not built"
echo "yet: the engine (freezer-dr-engine) will carry out these decisions."
