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

# npm writes node_modules/.package-lock.json on every install: older than the lockfile (or
# absent) means the pinned tree is not what is installed.
stamp="$marp_dir/node_modules/.package-lock.json"
if [ ! -x "$marp_dir/node_modules/.bin/marp" ] || [ ! -e "$stamp" ] \
    || [ "$marp_dir/package-lock.json" -nt "$stamp" ]; then
  echo "publish-deps: npm ci --prefix tools/marp" >&2
  # marp-cli drives the system Chromium through puppeteer-core: nothing may fetch a browser.
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$marp_dir" --ignore-scripts --no-audit --no-fund \
    --loglevel=error
fi
