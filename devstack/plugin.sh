# freezer-dr devstack plugin: stack.sh and unstack.sh call this file at each
# stage, with the stage as arguments (e.g. "stack post-config").
# shellcheck shell=bash
#
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

# Enable it in local.conf:
#
#   [[local|localrc]]
#   enable_plugin freezer-dr https://opendev.org/openstack/freezer-dr
#
# What each stage does (where freezer-dr-engine or freezer-dr-agent runs):
#   stack install      install freezer-dr (and the extras this node needs)
#   stack post-config  write /etc/freezer-dr/freezer-dr.conf; have nova
#                      publish versioned notifications; the keystone user
#                      the engine calls nova as
#   stack extra        heartbeat keys, the journal database (db sync), then
#                      start freezer-dr-engine and freezer-dr-agent
#   unstack            stop them
#   clean              remove the configuration, the keys and the data

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/freezer-dr
source "$(dirname "${BASH_SOURCE[0]}")/lib/freezer-dr"

if freezer_dr_engine_here || freezer_dr_agent_here; then
    if [[ "${1:-}" == "stack" && "${2:-}" == "install" ]]; then
        echo_summary "Installing freezer-dr"
        install_freezer_dr

    elif [[ "${1:-}" == "stack" && "${2:-}" == "post-config" ]]; then
        echo_summary "Configuring freezer-dr"
        configure_freezer_dr
        if freezer_dr_engine_here && is_service_enabled key; then
            create_freezer_dr_accounts
        fi

    elif [[ "${1:-}" == "stack" && "${2:-}" == "extra" ]]; then
        echo_summary "Initializing and starting freezer-dr"
        init_freezer_dr
        start_freezer_dr
    fi

    if [[ "${1:-}" == "unstack" ]]; then
        echo_summary "Stopping freezer-dr"
        stop_freezer_dr
    fi

    if [[ "${1:-}" == "clean" ]]; then
        cleanup_freezer_dr
    fi
fi
