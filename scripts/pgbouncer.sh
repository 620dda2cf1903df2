#!/usr/bin/env bash
# PgBouncer in transaction mode in front of the test PostgreSQL (what Supabase's and Neon's pooled
# URLs are), for the pooler variants of the store, claim and dispatch-endpoint tests.
# Installs Debian's pgbouncer when run as root, writes its configuration into $PGBOUNCER_DIR, starts it
# on 127.0.0.1:$PGBOUNCER_PORT (any database, passed through to 127.0.0.1:5432, no password) and prints
# the URL for TEST_PGBOUNCER_URL. Round-robin server connections, so a statement prepared on one
# server connection is soon executed on another, as it would be under load.
set -euo pipefail

PORT=${PGBOUNCER_PORT:-6432}
DIR=${PGBOUNCER_DIR:-/tmp/punctual-pgbouncer}
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

if [ ! -x "$PGBOUNCER" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's PgBouncer..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null; }
fi
[ -x "$PGBOUNCER" ] || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }

if ! pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  mkdir -p "$DIR"
  cat > "$DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
server_round_robin = 1
default_pool_size = 20
min_pool_size = 4
max_client_conn = 1000
max_db_connections = 60
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
  echo '"postgres" ""' > "$DIR/userlist.txt"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$DIR"  # PgBouncer refuses to run as root
    runuser -u postgres -- "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
  else
    "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PORT" -q && break; sleep 0.5; done
  pg_isready -h 127.0.0.1 -p "$PORT" -q || { echo "PgBouncer did not start (see $DIR/pgbouncer.log)" >&2; exit 1; }
fi
echo "postgresql://postgres@127.0.0.1:$PORT/test"
