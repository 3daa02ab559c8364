#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: Debian's binaries, everything inside DIR (a new folder),
# TCP on 127.0.0.1 only, at a free port, with trust authentication (nothing else can reach it).
# PostgreSQL refuses to run as root, so under root the server runs as `nobody`.
#
#   port=$(tests/support/postgres_server.sh start /tmp/pg.XXXX)   # postgresql://postgres@127.0.0.1:$port/postgres
#   tests/support/postgres_server.sh restart /tmp/pg.XXXX   # same port; every connection dropped
#   tests/support/postgres_server.sh stop /tmp/pg.XXXX
#
# Exit 77 (ctest's skip code) when PostgreSQL is not installed.
set -euo pipefail
cmd=${1:?start or stop}; dir=${2:?a folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then echo "postgresql is not installed" >&2; exit 77; fi
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u nobody --); fi
case $cmd in
  start)
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [ ${#as[@]} -gt 0 ]; then chown nobody "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a test database need not survive a power cut, and CI's disk is slow.
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "$port"
    ;;
  restart)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
    ;;
  stop)
    [ -d "$dir/data" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|restart|stop DIR" >&2; exit 2 ;;
esac
