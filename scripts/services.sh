#!/usr/bin/env bash
# Start the servers the test suite talks to, on 127.0.0.1 only, and print their URLs.
# Redis is started per test by the fixtures (they kill and restart it); PostgreSQL is
# the Debian cluster, with a `hub` role and database for the store tests.
# Only the URL goes to stdout (the Makefile captures it); everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$PGVER" ]; then echo "services: PostgreSQL is not installed (run scripts/setup.sh test)" >&2; exit 1; fi

# Run a command as the postgres superuser (peer authentication over the local socket).
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi
}

# Some images install the server without creating the default cluster.
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PGVER" '$1 == v && $2 == "main" {found=1} END {exit !found}'; then
  echo "services: creating PostgreSQL $PGVER cluster main" >&2
  if [ "$(id -u)" -eq 0 ]; then pg_createcluster "$PGVER" main >&2; else sudo pg_createcluster "$PGVER" main >&2; fi
fi
status=$(pg_lsclusters -h | awk -v v="$PGVER" '$1 == v && $2 == "main" {print $4}')
port=$(pg_lsclusters -h | awk -v v="$PGVER" '$1 == v && $2 == "main" {print $3}')
if [ "$status" != online ]; then
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$PGVER" main start >&2; else sudo pg_ctlcluster "$PGVER" main start >&2; fi
fi
ready=""
for _ in $(seq 1 60); do
  if pg_isready -q -h 127.0.0.1 -p "$port"; then ready=yes; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then echo "services: PostgreSQL did not accept connections on 127.0.0.1:$port" >&2; exit 1; fi

psql_su() { (cd / && as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"); }
if [ "$(psql_su -c "select 1 from pg_roles where rolname='hub'")" != 1 ]; then
  psql_su -c "create role hub login password 'hub-test-only' createdb" >&2
fi
# Each PostgreSQL test drops its own database WITH (FORCE); an autovacuum worker on it (no role of
# its own) can only be ended by a member of pg_signal_backend, else the drop fails now and then.
if [ "$(psql_su -c "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where r.rolname = 'pg_signal_backend' and u.rolname = 'hub'")" != 1 ]; then
  psql_su -c "grant pg_signal_backend to hub" >&2
fi
if [ "$(psql_su -c "select 1 from pg_database where datname='hub_test'")" != 1 ]; then
  psql_su -c "create database hub_test owner hub" >&2
fi
echo "postgresql+psycopg://hub:hub-test-only@127.0.0.1:$port/hub_test"
