#!/usr/bin/env bash
# Start, stop or show the host Docker engine that builds lab images and runs labs.
#
#   tools/setup/dockerd.sh start    # start dockerd unless one is reachable already
#   tools/setup/dockerd.sh stop     # stop the dockerd this script started (never another one)
#   tools/setup/dockerd.sh status
#
# There is no systemd here: dockerd runs in the background, logs to $LOG, and its pid is kept in
# $PIDFILE so `stop` only ever stops the daemon `start` started.
set -euo pipefail

LOG=${LIVEDECK_DOCKERD_LOG:-/var/log/livedeck-dockerd.log}
PIDFILE=${LIVEDECK_DOCKERD_PIDFILE:-/run/livedeck-dockerd.pid}
SOCKET=/var/run/docker.sock
WAIT_SECONDS=60

say() { printf 'dockerd.sh: %s\n' "$*" >&2; }

reachable() { docker info >/dev/null 2>&1; }

our_pid() {
  # The pid from our pid file, if that process is still a dockerd.
  [[ -r $PIDFILE ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ -n $pid && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == dockerd ]] || return 1
  printf '%s\n' "$pid"
}

install_engine() {
  # CI machines start fresh: get Debian's engine (and its client, if none is installed).
  command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
  say "installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
}

start() {
  if reachable; then
    say "a Docker engine is already reachable ($(docker info --format '{{.ServerVersion}}'))"
    return 0
  fi
  install_engine
  if pid=$(our_pid); then
    say "dockerd (pid $pid) is starting already; waiting for it"
  else
    mkdir -p "$(dirname "$LOG")" "$(dirname "$PIDFILE")"
    # setsid: the daemon must not die with this shell or get its Ctrl-C. GOGC=400: as the
    # labs' engines (lab_assets/lab/lab-entrypoint), for the processes it runs itself as.
    GOGC=400 setsid dockerd >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started dockerd (pid $!), log in $LOG"
  fi
  local waited=0
  until reachable; do
    if ! our_pid >/dev/null; then
      say "dockerd exited while starting; last lines of $LOG:"
      tail -n 20 "$LOG" >&2
      rm -f "$PIDFILE"
      return 1
    fi
    if ((waited >= WAIT_SECONDS * 10)); then
      say "dockerd did not answer on $SOCKET within ${WAIT_SECONDS}s; see $LOG"
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "Docker engine is up: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}')"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    say "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    [[ -d /proc/$pid ]] || break
    sleep 0.1
  done
  if [[ -d /proc/$pid ]]; then
    say "dockerd (pid $pid) ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
  say "stopped dockerd (pid $pid)"
}

status() {
  if reachable; then
    echo "Docker engine: reachable, $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, {{.Containers}} containers, {{.Images}} images')"
  else
    echo "Docker engine: not reachable (start one with: tools/setup/dockerd.sh start)"
  fi
  if pid=$(our_pid); then
    echo "started by dockerd.sh: yes (pid $pid, log $LOG)"
  else
    echo "started by dockerd.sh: no"
  fi
  reachable
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
