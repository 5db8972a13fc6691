#!/bin/sh
# Adds `listen [::]:80;` to the default server when the container has IPv6.
set -e

ME=$(basename "$0")
CONF=/etc/nginx/conf.d/default.conf

if [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then exec 3>/dev/null; else exec 3>&1; fi

if [ ! -f /proc/net/if_inet6 ]; then
    echo >&3 "$ME: info: ipv6 not available"
    exit 0
fi
if [ ! -f "$CONF" ]; then
    echo >&3 "$ME: info: $CONF is not a file or does not exist"
    exit 0
fi
if ! touch "$CONF" 2>/dev/null; then
    echo >&3 "$ME: info: can not modify $CONF (read-only file system?)"
    exit 0
fi
if grep -q '\[::\]:80;' "$CONF"; then
    echo >&3 "$ME: info: IPv6 listen already enabled"
    exit 0
fi

sed -i -E 's,^( *)listen( +)80;,&\n\1listen  [::]:80;,' "$CONF"
echo >&3 "$ME: info: Enabled listen on IPv6 in $CONF"
