#!/usr/bin/env bash
# Build the mirror's images twice from scratch (each from its own debootstrap, under tags and
# folders of its own, the shared images untouched) and compare the digests they are pushed with.
# Exit 0 when every digest is the same, 1 when one differs. Takes a few minutes per build.
#
#   tools/setup/check-reproducible.sh [WORKDIR]     # default: a new folder in /var/tmp
set -euo pipefail

say() { printf 'check-reproducible.sh: %s\n' "$*" >&2; }
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-$(mktemp -d /var/tmp/livedeck-reproducible.XXXXXX)}
TAG=livedeck-reproducible-$$
mkdir -p "$WORK"

build() { # N: the images under $TAG-N, their registry storage in $WORK/registry-N
  LIVEDECK_BASE_IMAGE=$TAG/debian:$1 LIVEDECK_LAB_IMAGE=$TAG/lab:$1 \
    LIVEDECK_NGINX_IMAGE=$TAG/nginx-$1 LIVEDECK_MARIADB_IMAGE=$TAG/mariadb:$1 \
    LIVEDECK_CACHE_DIR=$WORK/cache-$1 \
    "$HERE/lab-images.sh" --registry-dir "$WORK/registry-$1" --mariadb 2>&1 |
    tee "$WORK/build-$1.log" | grep -E '^lab-images.sh: library/' >&2
}

cleanup() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$TAG/" | xargs -r docker rmi >/dev/null || true
}
trap cleanup EXIT

say "first build (log: $WORK/build-1.log)"
build 1
say "second build (log: $WORK/build-2.log)"
build 2
digests() { grep -E '^lab-images.sh: library/' "$WORK/build-$1.log" | sort; }
if [[ $(digests 1) == "$(digests 2)" && -n $(digests 1) ]]; then
  say "reproducible: both builds pushed the same digests"
  exit 0
fi
say "NOT reproducible:"
diff <(digests 1) <(digests 2) >&2 || true
exit 1
