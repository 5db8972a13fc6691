#!/usr/bin/env bash
# Everything a fresh Debian machine (as root) needs, then the job:
#
#   tools/bootstrap.sh build [livedeck build options]   # every deck in slides/ -> build/
#   tools/bootstrap.sh test  [pytest options]           # lint, types, workflows, every test
#   tools/bootstrap.sh outdated|refresh [options]       # livedeck outdated / refresh (CI's)
#
# Each step is idempotent and takes about a second once done: the Python venv, marp-cli and
# Chromium, a Docker engine (started only when none is reachable, and stopped again at the
# end), and the lab images (Debian base, lab host, nginx in the lab's registry mirror).
# `build --offline` renders from the records and needs no Docker: the engine steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

job=${1:-}
shift || true
case $job in
  build | test | outdated | refresh) ;;
  *)
    echo "usage: tools/bootstrap.sh build|test|outdated|refresh [options]" >&2
    exit 2
    ;;
esac

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# Set-up talks on stderr only (npm, pip and apt print to stdout): stdout is the job's, so
# `tools/bootstrap.sh outdated --json > out.json` holds the JSON alone on a first run too.
exec 3>&1 1>&2

venv_package() {
  if ! python3 -m venv --help >/dev/null 2>&1; then
    say "installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
}

python_env() {
  # Without pip a venv takes 0.15 s instead of 3 to 5 (ensurepip): uv, which installs the rest,
  # comes from the system's pip where there is one. Elsewhere the venv gets its own pip.
  if [[ ! -x .venv/bin/python ]]; then
    if python3 -m pip --version >/dev/null 2>&1; then
      python3 -m venv --without-pip .venv
    else
      python3 -m venv .venv
    fi
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  if [[ ! -f .venv/.installed || pyproject.toml -nt .venv/.installed ]]; then
    say "installing livedeck and its dependencies into .venv"
    # uv installs the ~40 packages side by side, against pip's 13 to 19 s on a clean clone. pip
    # stays the way where uv cannot be had. Byte-compiling all of them takes 11 s more (mypy,
    # hypothesis...): the test job skips it, since its processes write the caches of what they
    # import (below); the other jobs compile, for users whose PYTHONDONTWRITEBYTECODE is set.
    local compile=(--compile-bytecode)
    [[ $job != test ]] || compile=()
    if venv_uv && .venv/bin/uv pip install --quiet --python .venv/bin/python "${compile[@]}" -e '.[dev]'; then
      :
    else
      say "uv could not install them: pip does"
      [[ -x .venv/bin/pip ]] || .venv/bin/python -m ensurepip --upgrade --default-pip >/dev/null
      .venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
    fi
    touch .venv/.installed
  fi
}

# uv (pinned) into .venv: by the venv's pip if it has one, else by the system's.
venv_uv() {
  [[ -x .venv/bin/uv ]] && return 0
  local pip=(.venv/bin/pip)
  [[ -x .venv/bin/pip ]] || pip=(python3 -m pip --python .venv/bin/python)
  "${pip[@]}" install --quiet --disable-pip-version-check 'uv==0.13.9'
}

needs_docker() {
  [[ $job != build ]] && return 0
  local arg
  for arg in "$@"; do [[ $arg == --offline ]] && return 1; done
  return 0
}

# `outdated` asks registries over HTTP: no browser, and lab images only for decks recorded from
# the seeded mirror (their digests are read from its storage).
needs_lab_images() {
  [[ $job != outdated ]] && return 0
  grep -qsE '^  images: mirror$' slides/*.record.yaml
}

# The Python environment is made while the other steps run (on a clean clone it takes about
# 10 s, as long as marp-cli's npm install): the steps that use apt run one after another.
# A step that fails below ends the job, after the install has finished (nothing left running
# or half-made in .venv).
venv_package
python_env &
python_pid=$!
stop_engine=false
at_exit() {
  [[ -z $python_pid ]] || wait "$python_pid" || true
  ! $stop_engine || tools/setup/dockerd.sh stop
}
trap at_exit EXIT
[[ $job == outdated ]] || tools/setup/publish-deps.sh
if needs_docker "$@" && needs_lab_images; then
  if ! docker info >/dev/null 2>&1; then
    # No engine is reachable: start one for this job and stop it again at the end.
    stop_engine=true
  fi
  tools/setup/dockerd.sh start
  tools/setup/lab-images.sh
fi

# The example decks' lab password (slides/docker-mariadb.md): made once, kept out of git.
if [[ ! -s slides/.livedeck-secrets ]]; then
  printf 'MARIADB_ROOT_PASSWORD=%s\n' "$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" \
    >slides/.livedeck-secrets
  chmod 600 slides/.livedeck-secrets
fi

installed=0
wait "$python_pid" || installed=$?
python_pid=
if ((installed != 0)); then
  say "the Python environment in .venv could not be made (see above)"
  exit 1
fi
export PATH="$PWD/.venv/bin:$PATH"
exec 1>&3 3>&-
case $job in
  build)
    livedeck build "$@"
    ;;
  outdated | refresh)
    livedeck "$job" "$@"
    ;;
  test)
    # The suite starts dozens of Python processes (livedeck's CLI, the xdist workers): with
    # PYTHONDONTWRITEBYTECODE set (some images set it), each one compiled livedeck from source
    # again, 1.0 CPU-s against 0.3 with the bytecode cache. The caches go to __pycache__/
    # folders, which git ignores.
    unset PYTHONDONTWRITEBYTECODE
    ruff check tools tests
    ruff format --check tools tests
    # mypy's cache is kept per machine beside marp-cli's (a clean clone's mypy: 0.2 s against
    # 3.4). Its entries are checked against each file's content, so another clone's are used
    # only where they still hold.
    mypy_cache=${LIVEDECK_CACHE_DIR:-/var/cache/livedeck}/mypy
    if [[ -z ${MYPY_CACHE_DIR:-} ]] && mkdir -p "$mypy_cache" 2>/dev/null && [[ -w $mypy_cache ]]; then
      export MYPY_CACHE_DIR=$mypy_cache
    fi
    mypy
    # The CI workflows: syntax, expressions and shell (actionlint), security (zizmor, offline).
    actionlint -no-color .github/workflows/*.yml
    zizmor --offline --no-progress .github/workflows/
    # Test files run side by side, each file's tests on one worker (they share module
    # fixtures such as one build of the flagship); LIVEDECK_TEST_WORKERS=1 runs them in turn.
    pytest -n "${LIVEDECK_TEST_WORKERS:-4}" --dist loadscope --no-loadscope-reorder "$@"
    ;;
esac
