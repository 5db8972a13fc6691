#!/bin/bash
# First start: initialise the data folder from the MARIADB_* variables (as the official image
# does), on a temporary server that listens on a socket of its own, then run the real server.
set -eo pipefail

say() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*"; }

if [[ ${1:0:1} == - ]]; then
  set -- mariadbd "$@"
fi
if [[ $1 != mariadbd && $1 != mysqld ]]; then
  exec "$@"
fi

datadir=/var/lib/mysql
if [[ ! -d $datadir/mysql ]]; then
  if [[ -z ${MARIADB_ROOT_PASSWORD:-} && -z ${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-} && -z ${MARIADB_RANDOM_ROOT_PASSWORD:-} ]]; then
    echo "$(date '+%F %T') [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified" >&2
    echo "	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD" >&2
    exit 1
  fi
  chown mysql:mysql "$datadir"
  say "Initializing database files"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  say "Database files initialized"
  say "Starting temporary server"
  socket=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" &
  pid=$!
  for _ in $(seq 60); do
    mariadb --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  say "Temporary server started."
  password=${MARIADB_ROOT_PASSWORD:-}
  if [[ -n ${MARIADB_RANDOM_ROOT_PASSWORD:-} ]]; then
    password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
    say "GENERATED ROOT PASSWORD: $password"
  fi
  quote() { printf "'%s'" "${1//\'/\'\'}"; }
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.user WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(quote "$password");"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $(quote "$password");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [[ -n ${MARIADB_DATABASE:-} ]]; then
      say "Creating database ${MARIADB_DATABASE}"
      echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\`;"
    fi
    if [[ -n ${MARIADB_USER:-} && -n ${MARIADB_PASSWORD:-} ]]; then
      say "Creating user ${MARIADB_USER}"
      echo "CREATE USER $(quote "$MARIADB_USER")@'%' IDENTIFIED BY $(quote "$MARIADB_PASSWORD");"
      if [[ -n ${MARIADB_DATABASE:-} ]]; then
        echo "GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO $(quote "$MARIADB_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" -uroot
  say "Stopping temporary server"
  kill "$pid"
  wait "$pid" || true
  say "Temporary server stopped"
  say "MariaDB init process done. Ready for start up."
fi
exec "$@" --user=mysql
