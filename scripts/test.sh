#!/usr/bin/env bash
# The whole test suite on a fresh machine: starts what the tests need, runs them, stops it all.
#   - a throwaway PostgreSQL 15 cluster on 127.0.0.1 (storage and API tests run on SQLite and PostgreSQL)
#   - aiosmtpd from PyPI in a virtualenv (a real SMTP server the email tests start on 127.0.0.1)
#   - Chromium (Debian's package) and playwright-core from npm, for the real-browser test of the web chat
# Extra arguments go to cargo nextest (e.g. `scripts/test.sh foundation`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/hub-test.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: run the cluster as the postgres user.
  chown postgres: "$work"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null
export HUB_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "test PostgreSQL on 127.0.0.1:$pg_port"

venv="$root/target/test-venv"
if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check aiosmtpd
fi
export HUB_TEST_PYTHON="$venv/bin/python"

# Real-browser test (chat): Debian's Chromium, driven by playwright-core (no browser download of its own), and a
# Japanese font so the screenshot (target/test-artifacts/chat.png) shows text rather than empty boxes.
browser_packages=()
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then browser_packages+=(chromium); fi
if ! fc-list :lang=ja 2>/dev/null | grep -q .; then browser_packages+=(fonts-ipafont-gothic); fi
if [ ${#browser_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_packages[@]}" >/dev/null
  else
    echo "warning: missing ${browser_packages[*]} and not root: the browser test may fail" >&2
  fi
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p target/test-artifacts

cargo nextest run --workspace --all-features --no-fail-fast "$@"
