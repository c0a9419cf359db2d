# Shared by tools/demo.sh, tools/run-tests.sh and .ci/run: make sure a
# virtualenv with freezer-dr and its test requirements exists, and start the
# local services the tests need. Source it; do not run it.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

die() { echo "$*" >&2; exit 1; }

quietly() {
    # Run a command, showing its output only if it fails.
    local log
    log=$(mktemp)
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        local status=$?
        cat "$log" >&2
        rm -f "$log"
        return "$status"
    fi
}

as_root_apt_install() {
    # Install Debian packages when we may; otherwise say exactly what to do.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing with apt-get: $*" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
            die "apt-get install $* failed"
    else
        die "Missing system packages. Install them with: sudo apt-get install -y $*"
    fi
}

ensure_build_packages() {
    # libvirt-python builds against libvirt-dev (with pkg-config); the
    # fencer tests run ipmitool against the BMC simulator; shellcheck
    # checks the devstack plugin; graphviz draws the docs' diagrams. (Debian and
    # Ubuntu; elsewhere install their equivalents yourself.)
    command -v dpkg-query >/dev/null || return 0
    local missing=() package
    for package in libvirt-dev pkg-config ipmitool shellcheck graphviz; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
            grep -q 'ok installed' || missing+=("$package")
    done
    [ "${#missing[@]}" = 0 ] || as_root_apt_install "${missing[@]}"
}

ensure_venv() {
    command -v "$PYTHON" >/dev/null ||
        as_root_apt_install python3 python3-venv python3-pip
    local hash
    hash=$(cat "$TOP/requirements.txt" "$TOP/test-requirements.txt" |
        "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')
    local pyver
    pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    VENV=${FREEZER_DR_VENV:-$HOME/.cache/freezer-dr/venv-py$pyver}
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating the virtualenv $VENV" >&2
        mkdir -p "$(dirname "$VENV")"
        if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            as_root_apt_install python3-venv
            "$PYTHON" -m venv "$VENV" || die "cannot create $VENV"
        fi
        quietly "$VENV/bin/pip" install -q --upgrade pip ||
            die "pip upgrade failed"
    fi
    ensure_build_packages
    if [ "$(cat "$VENV/.requirements-hash" 2>/dev/null)" != "$hash" ]; then
        echo "Installing the requirements into $VENV" >&2
        quietly "$VENV/bin/pip" install -q -r "$TOP/requirements.txt" \
            -r "$TOP/test-requirements.txt" || die "pip install failed"
        echo "$hash" > "$VENV/.requirements-hash"
    fi
    # This checkout, editable (cheap; points the commands at this tree).
    (cd "$TOP" && quietly "$VENV/bin/pip" install -q --no-deps -e .) ||
        die "pip install -e . failed"
    export PATH="$VENV/bin:$PATH"
}

ensure_rabbitmq() {
    # RabbitMQ on 127.0.0.1:5672 (guest/guest), for the functional tests.
    if ! command -v rabbitmqctl >/dev/null; then
        as_root_apt_install rabbitmq-server
    fi
    if rabbitmqctl -q status >/dev/null 2>&1; then
        return 0
    fi
    echo "Starting RabbitMQ" >&2
    rabbitmq-server -detached >/dev/null 2>&1 || true
    # await_startup fails at once until the node has registered: retry.
    local deadline=$((SECONDS + 120))
    until rabbitmqctl -q await_startup >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "RabbitMQ did not start"
        sleep 1
    done
}

ensure_mariadb() {
    # MariaDB on 127.0.0.1:3306 (root, no password): the cloud harness's
    # databases and the journal tests.
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] ||
        as_root_apt_install mariadb-server mariadb-client
    if mysqladmin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
        return 0
    fi
    echo "Starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background \
        --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    until mysqladmin -uroot -h127.0.0.1 ping >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "MariaDB did not start"
        sleep 1
    done
}

ensure_postgresql() {
    # PostgreSQL on 127.0.0.1:5432 (trust): the journal tests.
    command -v pg_ctlcluster >/dev/null ||
        as_root_apt_install postgresql
    if pg_isready -h 127.0.0.1 -q 2>/dev/null; then
        return 0
    fi
    echo "Starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" \
        main start >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    until pg_isready -h 127.0.0.1 -q 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "PostgreSQL did not start"
        sleep 1
    done
}

ensure_services() {
    # Each service is started only when it is not already running.
    ensure_rabbitmq
    ensure_mariadb
    ensure_postgresql
}
