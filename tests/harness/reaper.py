"""Kills the cloud's processes when the process that started them dies.

Every process of the cloud runs in a process group of its own; the group
ids are appended, one per line, to a file. The reaper waits until its
standard input closes (the harness holds the other end: the pipe closes
when the harness process exits, however it exits), then kills every group
in the file. The harness's own teardown does the same first.

    python -m tests.harness.reaper PGID_FILE
"""

import os
import signal
import sys


def read_groups(path):
    try:
        with open(path) as f:
            return [int(line) for line in f if line.strip().isdigit()]
    except FileNotFoundError:
        return []


def kill_groups(path, signum=signal.SIGKILL):
    for pgid in read_groups(path):
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def main(argv):
    path = argv[0]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    kill_groups(path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
