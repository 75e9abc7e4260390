#!/usr/bin/env bash
# Runs every test of the workspace against PostgreSQL and RabbitMQ on 127.0.0.1.
#
# Servers that are not reachable are started, and installed from Debian's packages when missing, so
# this works on a fresh machine. Tests create their own databases, exchanges and queues and
# remove them afterwards. Extra arguments go to the test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

postgres_answers() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
postgres_trusts() { psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; }
rabbitmq_answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=yes; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    if ! postgres_answers; then
        command -v pg_ctlcluster >/dev/null || { log "installing PostgreSQL"; apt_install postgresql; }
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        log "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do postgres_answers && break; sleep 1; done
    fi
    if ! postgres_trusts; then
        # A fresh Debian cluster requires passwords on TCP; the tests connect as postgres
        # without one, so trust loopback connections only.
        local version hba
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        hba=/etc/postgresql/$version/main/pg_hba.conf
        log "allowing passwordless loopback connections in $hba"
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload
        sleep 1
    fi
    postgres_trusts || { echo "PostgreSQL on 127.0.0.1:5432 does not accept user postgres" >&2; exit 1; }
}

ensure_rabbitmq() {
    rabbitmq_answers && return
    command -v rabbitmq-server >/dev/null || { log "installing RabbitMQ"; apt_install rabbitmq-server; }
    # Keep the broker and its port mapper on loopback.
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    log "starting RabbitMQ"
    rabbitmq-server -detached
    for _ in $(seq 1 60); do
        rabbitmqctl await_startup >/dev/null 2>&1 && break
        sleep 1
    done
    for _ in $(seq 1 30); do rabbitmq_answers && return; sleep 1; done
    echo "RabbitMQ did not start on 127.0.0.1:5672" >&2
    exit 1
}

ensure_postgres
ensure_rabbitmq

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
    cargo test --workspace --doc
else
    cargo test --workspace --no-fail-fast "$@"
fi
