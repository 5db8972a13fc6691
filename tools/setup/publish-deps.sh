#!/usr/bin/env bash
# Install what `livedeck` needs to publish (HTML + PDF): Chromium, the fonts the decks use,
# poppler-utils (PDF checks in tests), Node.js, and the pinned marp-cli from tools/marp.
# Idempotent and fast when everything is there: it only looks, and installs what is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
marp_dir="$repo/tools/marp"
apt_packages=(chromium fonts-noto-cjk fonts-nanum fonts-nanum-extra poppler-utils)
# A browser already named by CHROME_PATH (GitHub's runner: Google Chrome, where Ubuntu's chromium
# is a snap stub) is used instead of Debian's chromium.
if [ -n "${CHROME_PATH:-}" ] && [ -x "$CHROME_PATH" ]; then
  apt_packages=("${apt_packages[@]:1}")
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "publish-deps: apt-get install ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The pinned tree is installed once per machine and lockfile, under the lab images' cache folder
# (named by the lockfile's hash), and node_modules here links to it: a clean clone of the same
# lockfile starts with marp-cli at once instead of 16 to 18 s of `npm ci`. Where that folder
# cannot be written (not root), node_modules is installed here as before.
cache_root=${LIVEDECK_CACHE_DIR:-/var/cache/livedeck}
lock_hash=$(sha256sum "$marp_dir/package-lock.json" | cut -c1-16)
shared="$cache_root/marp-$lock_hash"

npm_ci() { # npm_ci DIR: the pinned tree into DIR/node_modules
  echo "publish-deps: npm ci --prefix $1" >&2
  # marp-cli drives the system Chromium through puppeteer-core: nothing may fetch a browser.
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$1" --ignore-scripts --no-audit --no-fund \
    --loglevel=error
}

if [ ! -e "$shared/.complete" ] && mkdir -p "$cache_root" 2>/dev/null && [ -w "$cache_root" ]; then
  # Made aside and renamed when whole: an install cut short, or one beside it, is never used.
  partial=$(mktemp -d "$shared.partial-XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  cp "$marp_dir/package.json" "$marp_dir/package-lock.json" "$partial/"
  npm_ci "$partial"
  touch "$partial/.complete"
  [ -e "$shared/.complete" ] || { rm -rf "$shared" && mv -T "$partial" "$shared"; }
fi
if [ -e "$shared/.complete" ]; then
  if [ "$(readlink "$marp_dir/node_modules" || true)" != "$shared/node_modules" ]; then
    rm -rf "$marp_dir/node_modules"
    ln -s "$shared/node_modules" "$marp_dir/node_modules"
  fi
  exit 0
fi

# npm writes node_modules/.package-lock.json on every install: older than the lockfile (or
# absent) means the pinned tree is not what is installed.
stamp="$marp_dir/node_modules/.package-lock.json"
if [ -L "$marp_dir/node_modules" ] || [ ! -x "$marp_dir/node_modules/.bin/marp" ] \
    || [ ! -e "$stamp" ] || [ "$marp_dir/package-lock.json" -nt "$stamp" ]; then
  rm -rf "$marp_dir/node_modules"
  npm_ci "$marp_dir"
fi
