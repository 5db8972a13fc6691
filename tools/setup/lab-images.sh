#!/usr/bin/env bash
# Build the lab images on the host Docker engine and fill the registry storage the labs' mirror
# serves (nginx in the shape of the official image, and MariaDB from Debian's packages). Idempotent: a second run finds everything in place and takes seconds.
#
#   tools/setup/lab-images.sh                      # base, lab and 7-layer nginx images; registry
#   tools/setup/lab-images.sh --nginx-layers 6     # put the 6-layer (2023) nginx in the registry
#   tools/setup/lab-images.sh --registry-dir DIR   # fill another registry storage (nginx only)
#   tools/setup/lab-images.sh --registry-dir DIR --mariadb   # ... with mariadb:10.11 too
#   tools/setup/lab-images.sh --rebuild            # build every image again, without cache
#
# The images the registry serves are reproducible: the same Debian packages and lab_assets give
# the same digests on any machine and at any time (push-reproducible.py, SOURCE_DATE_EPOCH of
# lab.env), so records made on one machine are not outdated on the next.
# Names and paths come from tools/livedeck/lab_assets/lab.env (shared with livedeck's Python);
# an environment variable LIVEDECK_<NAME> overrides <NAME>, e.g. LIVEDECK_NGINX_LAYERS=6.
# Needs a reachable Docker engine: tools/setup/dockerd.sh start.
set -euo pipefail

ASSETS=$(cd "$(dirname "$0")/../livedeck/lab_assets" && pwd)
PUSHER=$(cd "$(dirname "$0")" && pwd)/push-reproducible.py

say() { printf 'lab-images.sh: %s\n' "$*" >&2; }

CLEANUP=() # commands run on exit, however the script ends
cleanup() {
  local command
  for command in "${CLEANUP[@]}"; do eval "$command" || true; done
}
trap cleanup EXIT
die() {
  say "$*"
  exit 1
}

load_names() {
  local key value override
  while IFS='=' read -r key value; do
    [[ -z $key || $key == \#* ]] && continue
    override=LIVEDECK_$key
    declare -g "$key=${!override:-$value}"
  done <"$ASSETS/lab.env"
}

parse_args() {
  REBUILD=0
  MARIADB=0
  while (($#)); do
    case $1 in
      --nginx-layers) NGINX_LAYERS=${2:?--nginx-layers needs 6 or 7}; shift ;;
      --registry-dir) REGISTRY_DIR=${2:?--registry-dir needs a directory}; shift ;;
      --mariadb) MARIADB=1 ;;
      --rebuild) REBUILD=1 ;;
      -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
    shift
  done
  [[ $NGINX_LAYERS == 6 || $NGINX_LAYERS == 7 ]] || die "NGINX_LAYERS must be 6 or 7, not $NGINX_LAYERS"
  REGISTRY_DIR=$(realpath -m "$REGISTRY_DIR") # labs bind-mount it: no relative paths
}

need_tools() {
  docker info >/dev/null 2>&1 || die "no Docker engine reachable: run tools/setup/dockerd.sh start"
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

make_base() {
  if ((!REBUILD)) && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  local tarball=$CACHE_DIR/bookworm-minbase.tar
  if ((REBUILD)) || [[ ! -s $tarball ]]; then
    say "debootstrap bookworm (about 30 s)"
    local rootfs
    rootfs=$(mktemp -d /var/tmp/livedeck-rootfs.XXXXXX)
    CLEANUP+=("rm -rf '$rootfs'")
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
      >"$CACHE_DIR/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
    slim_rootfs "$rootfs"
    mkdir -p "$CACHE_DIR"
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
  fi
  say "importing $BASE_IMAGE"
  docker import --change 'CMD ["bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
}

slim_rootfs() { # what Docker's debian:bookworm-slim does, so layers stay small
  local root=$1
  cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Acquire::Languages "none";
EOF
  # Packages must not start services while an image is built (with the host's network).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
    "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  : >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"
}

build() { # IMAGE CONTEXT [DOCKERFILE-FILTER]: build unless an image of these exact inputs exists
  local image=$1 context=$2 filter=${3:-cat}
  # The inputs' hash is kept next to the image id in a stamp file, not as a label: a label
  # would show in the image's history and config inside the lab.
  local stamp=$CACHE_DIR/built/${image//[\/:]/_} inputs id
  inputs=$({
    docker image inspect --format '{{.Id}}' "$BASE_IMAGE"
    echo "$filter"
    cd "$context"
    find . -type f -print0 | sort -z | xargs -0 sha256sum
    find . -type f -perm -u+x | sort
  } | sha256sum | cut -c1-16)
  id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if ((!REBUILD)) && [[ -n $id && -r $stamp && $(<"$stamp") == "$inputs $id" ]]; then
    return 0
  fi
  say "building $image"
  local no_cache=() log=$CACHE_DIR/build-${image//[\/:]/_}.log copy
  ((REBUILD)) && no_cache=(--no-cache)
  # COPY keeps the files' modes, which a checkout takes from its umask: build from a copy whose
  # modes are the same on every machine, so the layers are too.
  copy=$(mktemp -d /var/tmp/livedeck-context.XXXXXX)
  CLEANUP+=("rm -rf '$copy'")
  cp -R "$context/." "$copy/"
  chmod -R u=rwX,go=rX "$copy"
  $filter <"$context/Dockerfile" | DOCKER_BUILDKIT=0 docker build --network host "${no_cache[@]}" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$image" --file - "$copy" >"$log" 2>&1 ||
    die "building $image failed; last lines of $log:"$'\n'"$(tail -n 15 "$log")"
  local old=$id
  id=$(docker image inspect --format '{{.Id}}' "$image")
  # The image this build replaced is now untagged; drop it unless a container still uses it.
  [[ -z $old || $old == "$id" ]] || docker rmi "$old" >/dev/null 2>&1 || true
  mkdir -p "$CACHE_DIR/built"
  echo "$inputs $id" >"$stamp"
}

drop_local_resolvers() { grep -v 15-local-resolvers; }

start_push_registry() { # a temporary registry on the host that writes into $REGISTRY_DIR
  [[ -n ${PUSH_REGISTRY:-} ]] && return 0
  mkdir -p "$REGISTRY_DIR"
  local try
  for try in 1 2 3 4 5; do # a free port, never a fixed one: another push may hold any given one
    PUSH_ADDR=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$REGISTRY_DIR REGISTRY_HTTP_ADDR=$PUSH_ADDR \
      docker-registry serve "$ASSETS/registry/push.yml" >"$CACHE_DIR/push-registry.log" 2>&1 &
    PUSH_REGISTRY=$!
    CLEANUP+=("kill $PUSH_REGISTRY 2>/dev/null; wait $PUSH_REGISTRY 2>/dev/null")
    for _ in $(seq 1 100); do
      curl -fsS -o /dev/null "http://$PUSH_ADDR/v2/" 2>/dev/null && return 0
      kill -0 "$PUSH_REGISTRY" 2>/dev/null || break
      sleep 0.1
    done
    kill "$PUSH_REGISTRY" 2>/dev/null || true
  done
  die "docker-registry did not start: $(tail -n 5 "$CACHE_DIR/push-registry.log")"
}

push() { # IMAGE REPO:TAG STAMP: serve IMAGE as REPO:TAG from $REGISTRY_DIR, unless it already does
  local image=$1 target=$2 stamp=$REGISTRY_DIR/$3 id digest
  # The stamp names the image and the code that made it reproducible: a change to either pushes.
  id="$(docker image inspect --format '{{.Id}}' "$image") $(cat "$PUSHER" "$ASSETS/../images/reproducible.py" | sha256sum | cut -c1-16) $SOURCE_DATE_EPOCH"
  if [[ -r $stamp && $(<"$stamp") == "$id" ]]; then
    return 0
  fi
  say "pushing $image as $target into $REGISTRY_DIR (reproducible)"
  start_push_registry
  digest=$(python3 "$PUSHER" "$image" "http://$PUSH_ADDR" "$target" "$SOURCE_DATE_EPOCH") ||
    die "pushing $image failed"
  say "$target: $digest"
  echo "$id" >"$stamp.tmp"
  mv "$stamp.tmp" "$stamp"
}

main() {
  load_names
  DEFAULT_REGISTRY_DIR=$REGISTRY_DIR
  parse_args "$@"
  need_tools
  mkdir -p "$CACHE_DIR"
  # One run at a time: a test run and a manual run must not push into the registry together.
  exec 9>"$CACHE_DIR/lab-images.lock"
  flock 9
  make_base
  build "$LAB_IMAGE" "$ASSETS/lab"
  build "$NGINX_IMAGE:7" "$ASSETS/nginx"
  build "$NGINX_IMAGE:6" "$ASSETS/nginx" drop_local_resolvers
  build "$MARIADB_IMAGE" "$ASSETS/mariadb"
  push "$NGINX_IMAGE:$NGINX_LAYERS" library/nginx:latest livedeck-nginx.id
  # Another storage (a test's, an nginx of another shape) gets nginx alone.
  local served="nginx ($NGINX_LAYERS layers)"
  if [[ $REGISTRY_DIR == "$(realpath -m "$DEFAULT_REGISTRY_DIR")" ]] || ((MARIADB)); then
    push "$MARIADB_IMAGE" library/mariadb:10.11 livedeck-mariadb.id
    served+=" and mariadb:10.11"
  fi
  say "ready: $BASE_IMAGE, $LAB_IMAGE, $NGINX_IMAGE:{6,7}, $MARIADB_IMAGE; $REGISTRY_DIR serves $served"
}

main "$@"
