"""The pieces of the commands' lifecycle (freezer_dr.cmd): reopening the
log files after logrotate, and telling systemd."""

import logging
import os
import socket

from freezer_dr import cmd


def test_log_files_are_reopened_after_a_rotation(tmp_path):
    path = tmp_path / 'engine.log'
    handler = logging.FileHandler(str(path))
    logger = logging.getLogger('test-reopen')
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning('before')
        os.rename(path, tmp_path / 'engine.log.1')
        assert cmd.reopen_log_files() >= 1
        logger.warning('after')
        handler.flush()
        assert path.read_text() == 'after\n'
        assert (tmp_path / 'engine.log.1').read_text() == 'before\n'
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_systemd_is_told_only_when_it_listens(tmp_path, monkeypatch):
    monkeypatch.delenv('NOTIFY_SOCKET', raising=False)
    assert cmd.notify_systemd('READY=1') is False
    path = str(tmp_path / 'notify')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        monkeypatch.setenv('NOTIFY_SOCKET', path)
        assert cmd.notify_systemd('READY=1') is True
        assert listener.recv(64) == b'READY=1'
    monkeypatch.setenv('NOTIFY_SOCKET', str(tmp_path / 'gone'))
    assert cmd.notify_systemd('STOPPING=1') is False
