#!/usr/bin/env bash
# Runs the client-example tests: the dashboard in Debian's headless Chromium, the Node and
# Python subscribers and the curl script, each against a real hadir ($HADIR_BIN, default
# target/debug/hadir: build it first).
#
# Installs what is missing first: Debian's chromium, jq and curl (apt-get, as root or with
# sudo), node_modules in node/ and tests/ (npm ci), and a Python venv for the Python example
# in ${HADIR_CACHE_DIR:-~/.cache/hadir}/client-venv. Extra arguments go to `node --test`
# (e.g. --test-name-pattern=dashboard). Exits non-zero when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."   # client-examples/
examples=$PWD
repo=$(cd .. && pwd)

export HADIR_BIN="${HADIR_BIN:-$repo/target/debug/hadir}"
if [ ! -x "$HADIR_BIN" ]; then
  echo "error: no hadir binary at $HADIR_BIN (cargo build -p api, or set HADIR_BIN)" >&2
  exit 2
fi

started=$(date +%s)

# --- Debian packages -------------------------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "client-examples: installing ${missing[*]} (apt-get)"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null || { echo "error: Node.js 20 or newer is needed" >&2; exit 2; }

# --- npm: node/ and tests/ ---------------------------------------------------------------
for dir in node tests; do
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "client-examples: npm ci in $dir/"
    (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

# --- the Python example's venv -----------------------------------------------------------
venv="${HADIR_CACHE_DIR:-$HOME/.cache/hadir}/client-venv"
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum python/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "client-examples: pip install -r python/requirements.txt into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r python/requirements.txt
  echo "$wanted" >"$stamp"
fi
export HADIR_CLIENT_PYTHON="$venv/bin/python"

echo "client-examples: ready in $(( $(date +%s) - started )) s; testing with $HADIR_BIN"

# --- the tests ---------------------------------------------------------------------------
exec node --test "$@" "$examples"/tests/*.test.mjs
