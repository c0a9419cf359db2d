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

"""The nova drivers' keystone token (issue 14, point 1): fetched when the
drivers are checked at start, shared by the isolator and the evacuator,
renewed before it expires, once per expiry, so that no recovery waits for
keystone. Against a keystone stand-in issuing 6-second tokens (time
scaled down: keystoneauth's own "expiring soon" threshold, 120 s for
hour-long tokens, is set to 1 s)."""

import time

from oslo_config import cfg

from freezer_dr.conf import nova as nova_conf
from freezer_dr.drivers.nova import client
from freezer_dr.drivers.nova import evacuation
from freezer_dr.drivers.nova import isolation
from tests.helpers import wait_for
from tests.peers import keystone as keystone_peer

LIFETIME = 6.0
#: keystoneauth's threshold, scaled as the lifetime is.
MIN_TOKEN_LIFE = 1


def _conf(auth_url):
    conf = cfg.ConfigOpts()
    conf.register_opts(nova_conf.opts, group='nova')
    conf.register_opts(nova_conf.evacuation_opts, group='evacuation')
    client.ks_loading.register_auth_conf_options(conf, 'nova')
    client.ks_loading.register_session_conf_options(conf, 'nova')
    conf([], project='freezer-dr-test', default_config_files=[])
    conf.set_override('auth_type', 'v3password', 'nova')
    conf.register_opts(
        client.ks_loading.get_auth_plugin_conf_options('v3password'),
        group='nova')
    for name, value in (('auth_url', auth_url), ('username', 'freezer-dr'),
                        ('password', 'secret'), ('project_name', 'service'),
                        ('user_domain_id', 'default'),
                        ('project_domain_id', 'default')):
        conf.set_override(name, value, 'nova')
    return conf


def test_one_token_per_expiry_renewed_before_it_expires():
    with keystone_peer.Keystone(LIFETIME) as keystone:
        conf = _conf(keystone.auth_url)
        isolator = isolation.NovaIsolator(conf=conf)
        evacuator = evacuation.NovaEvacuator(conf=conf)
        assert isolator._access.session is evacuator._access.session
        isolator._access.session.auth.MIN_TOKEN_LIFE_SECONDS = MIN_TOKEN_LIFE

        # The engine's start-up checks authenticate (nova itself is not
        # there: its listing fails, a warning, not an error).
        isolator.validate()
        evacuator.validate()
        assert len(keystone.issued) == 1
        session = isolator._access.session
        keeper = client.TokenKeeper.for_session(session)

        # Recoveries ask for the token all along: never an expired one,
        # and never one they had to wait for keystone to issue.
        began = time.time()
        seen = set()
        while time.time() - began < 2.2 * LIFETIME:
            token = session.get_token()
            assert keystone.expiry_of(token) > time.time(), \
                'a request was given an expired token'
            seen.add(token)
            time.sleep(0.05)
        keeper.stop()

        assert len(keystone.issued) == len(seen) == 1 + keeper.renewals
        # Renewed once per lifetime (less its margin), no more.
        elapsed = time.time() - began
        assert 2 <= len(keystone.issued) <= elapsed / (
            LIFETIME - MIN_TOKEN_LIFE - client.TokenKeeper.MIN_MARGIN) + 2, \
            keystone.issued


def test_a_failed_renewal_keeps_the_old_token_and_tries_again():
    with keystone_peer.Keystone(LIFETIME) as keystone:
        port = keystone.port
        conf = _conf(keystone.auth_url)
        session = client.shared_session(conf)
        session.auth.MIN_TOKEN_LIFE_SECONDS = MIN_TOKEN_LIFE
        token = session.get_token()
    # keystone gone: the renewal fails, the old token still serves.
    keeper = client.TokenKeeper(session)
    keeper.RETRY = 0.2
    keeper.start()
    try:
        wait_for(lambda: keeper.due_in(session.auth.auth_ref) < 0,
                 LIFETIME, message='renewal due')
        wait_for(lambda: keeper.failures >= 2, 5,
                 message='two failed renewals')
        assert keeper.renewals == 0
        assert session.auth.auth_ref.auth_token == token
        # keystone back: renewed by the keeper, no request waited for it.
        with keystone_peer.Keystone(LIFETIME, port=port) as back:
            wait_for(lambda: keeper.renewals == 1, 5,
                     message='renewed once keystone is back')
            assert session.auth.auth_ref.auth_token == back.issued[0][0]
    finally:
        keeper.stop()
