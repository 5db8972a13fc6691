#!/usr/bin/env bash
# What a CI job on a GitHub-hosted runner (ubuntu-latest: a non-root user with sudo, Docker,
# Node and Google Chrome preinstalled) does around tools/bootstrap.sh, so its caches can be kept:
#
#   tools/ci/runner.sh env          # livedeck's folders under ~/.cache/livedeck (-> $GITHUB_ENV)
#   tools/ci/runner.sh apt          # tools/ci/apt-packages.txt, .debs kept in ~/.cache/apt
#   tools/ci/runner.sh images-load  # the lab images saved by images-save, if any (cache hit)
#   tools/ci/runner.sh images-save  # the lab images into ~/.cache/livedeck/images.tar
#
# The folders are the runner user's, so actions/cache can save and restore them.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${LIVEDECK_CI_CACHE:-$HOME/.cache/livedeck}
say() { printf 'runner.sh: %s\n' "$*" >&2; }

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

lab_images() { # the image tags lab.env names (overridable as in lab-images.sh)
  local key value override
  while IFS='=' read -r key value; do
    [[ -z $key || $key == \#* ]] && continue
    override=LIVEDECK_$key
    declare "$key=${!override:-$value}"
  done <tools/livedeck/lab_assets/lab.env
  printf '%s\n' "$BASE_IMAGE" "$LAB_IMAGE" "$NGINX_IMAGE:6" "$NGINX_IMAGE:7" "$MARIADB_IMAGE"
}

case ${1:-} in
  env)
    mkdir -p "$CACHE"
    {
      echo "LIVEDECK_CACHE_DIR=$CACHE"
      echo "LIVEDECK_REGISTRY_DIR=$CACHE/registry"
      echo "LIVEDECK_IMAGES_DIR=$CACHE/images"
      echo "LIVEDECK_HUB_CACHE=$CACHE/hub"
      echo "LIVEDECK_PROXY_CACHE=$CACHE/proxy"
    } >>"${GITHUB_ENV:-/dev/stdout}"
    ;;
  apt)
    archives=$HOME/.cache/apt
    mkdir -p "$archives/partial"
    mapfile -t packages < <(grep -v '^#' tools/ci/apt-packages.txt | grep .)
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o "Dir::Cache::Archives=$archives" -o APT::Keep-Downloaded-Packages=true \
      "${packages[@]}" >/dev/null
    as_root chown -R "$(id -u):$(id -g)" "$archives"
    ;;
  images-load)
    if [[ -s $CACHE/images.tar ]]; then
      say "loading the lab images from $CACHE/images.tar"
      docker load -q -i "$CACHE/images.tar"
    fi
    ;;
  images-save)
    mapfile -t images < <(lab_images)
    say "saving ${images[*]}"
    docker save -o "$CACHE/images.tar.tmp" "${images[@]}"
    mv "$CACHE/images.tar.tmp" "$CACHE/images.tar"
    ;;
  *)
    sed -n '2,9s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
