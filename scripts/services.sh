#!/usr/bin/env bash
# Start the servers the test suite talks to, on 127.0.0.1 only, and print their URLs.
# Redis is started per test by the fixtures (they kill and restart it); PostgreSQL is
# the Debian cluster, with a `hub` role and database for the store tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$PGVER" ]; then echo "services: PostgreSQL is not installed (run scripts/setup.sh test)" >&2; exit 1; fi
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  pg_ctlcluster "$PGVER" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -h 127.0.0.1 -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='hub'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create role hub login password 'hub-test-only' createdb\""
su postgres -c "psql -qtAc \"select 1 from pg_database where datname='hub_test'\"" | grep -q 1 \
  || su postgres -c "psql -qc 'create database hub_test owner hub'"
echo "postgresql+psycopg://hub:hub-test-only@127.0.0.1:5432/hub_test"
