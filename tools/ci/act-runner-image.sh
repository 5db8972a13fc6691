#!/usr/bin/env bash
# The image act runs the workflows' `ubuntu-latest` jobs in (act -P ubuntu-latest=IMAGE), built
# here from Debian packages on the lab's base image, with nothing pulled from a registry: what
# the workflows expect of GitHub's runner (git, sudo, Node, Python with venv, the Docker CLI,
# a browser at /usr/bin/google-chrome) and the packages of tools/ci/apt-packages.txt.
#
#   tools/ci/act-runner-image.sh [TAG]     # default livedeck/act-runner:1; quick when built
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:-livedeck/act-runner:1}
base=${LIVEDECK_BASE_IMAGE:-livedeck/debian:bookworm}
# The certificates this machine trusts (a proxy's own CA, say) go in too, for pip and npm.
certs=/etc/ssl/certs/ca-certificates.crt
mapfile -t packages < <(grep -v '^#' tools/ci/apt-packages.txt | grep .)
inputs=$({
  docker image inspect --format '{{.Id}}' "$base"
  cat "$0" tools/ci/apt-packages.txt "$certs"
} | sha256sum | cut -c1-16)
if [[ $(docker image inspect --format '{{index .Config.Labels "livedeck.inputs"}}' "$tag" 2>/dev/null) == "$inputs" ]]; then
  exit 0
fi
echo "act-runner-image.sh: building $tag" >&2
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$certs" "$context/host-ca-certificates.crt"
cat >"$context/Dockerfile" <<EOF
FROM $base
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      git sudo ca-certificates curl xz-utils zstd nodejs npm docker.io chromium ${packages[*]} \\
 && ln -s /usr/bin/chromium /usr/bin/google-chrome \\
 && rm -rf /var/lib/apt/lists/*
COPY host-ca-certificates.crt /usr/local/share/livedeck/ca-certificates.crt
ENV PIP_CERT=/usr/local/share/livedeck/ca-certificates.crt \\
    NODE_EXTRA_CA_CERTS=/usr/local/share/livedeck/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/usr/local/share/livedeck/ca-certificates.crt
EOF
DOCKER_BUILDKIT=0 docker build --quiet --network host --tag "$tag" --label "livedeck.inputs=$inputs" \
  "$context" >/dev/null
