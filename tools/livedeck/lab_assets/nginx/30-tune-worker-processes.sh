#!/bin/sh
# With NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE set, sets worker_processes to the number of
# CPUs this container may use (its cpuset and CPU quota), not the host's count that `auto` sees.
set -e

ME=$(basename "$0")
CONF=/etc/nginx/nginx.conf

if [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then exec 3>/dev/null; else exec 3>&1; fi
[ -n "${NGINX_ENTRYPOINT_WORKER_PROCESSES_AUTOTUNE:-}" ] || exit 0

if ! touch "$CONF" 2>/dev/null; then
    echo >&3 "$ME: info: can not modify $CONF (read-only file system?)"
    exit 0
fi

cpus=$(nproc)
quota=""
if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r max period </sys/fs/cgroup/cpu.max
    [ "$max" = max ] || quota=$(( (max + period - 1) / period ))
elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    max=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
    period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    [ "$max" -le 0 ] || quota=$(( (max + period - 1) / period ))
fi
if [ -n "$quota" ] && [ "$quota" -lt "$cpus" ]; then
    cpus=$quota
fi

sed -i -E "s/^( *worker_processes +)[^;]+;/\1$cpus;/" "$CONF"
echo >&3 "$ME: info: worker_processes set to $cpus"
