"""Secrets never reach the logs (issue 12, point 6): every option marked
secret, and the password inside a URL, whatever its length, in messages
and tracebacks."""

import logging
import sys

from oslo_config import cfg

from freezer_dr import cmd


def _conf():
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('password', secret=True),
                        cfg.StrOpt('plain')], group='email')
    conf.register_opt(cfg.StrOpt('transport_url', secret=True))
    conf([], project='freezer-dr-test', default_config_files=[])
    conf.set_override('password', 'x', group='email')
    conf.set_override('plain', 'visible', group='email')
    conf.set_override('transport_url',
                      'rabbit://fdr:p%40ss@10.0.0.1:5672,fdr:s2@10.0.0.2/')
    return conf


def test_secrets_are_found_in_options_and_urls():
    secrets = cmd.configured_secrets(_conf())
    assert {'x', 'p%40ss', 'p@ss', 's2'} <= set(secrets)
    assert 'visible' not in secrets


def test_a_traceback_is_scrubbed_whatever_the_length_of_the_secret():
    conf = _conf()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('%(message)s'))
    scrubbing = cmd._Scrubbing(handler.formatter, conf)
    try:
        raise RuntimeError('login with p@ss refused by rabbit://fdr:p%40ss'
                           '@10.0.0.1:5672')
    except RuntimeError:
        record = logging.LogRecord('t', logging.ERROR, __file__, 1,
                                   'password %s', ('x',), sys.exc_info())
    text = scrubbing.format(record)
    assert 'p@ss' not in text and 'p%40ss' not in text
    assert 'password ***' in text
    assert 'RuntimeError' in text
