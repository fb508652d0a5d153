#!/usr/bin/env bash
# The single test command: setup, a private PostgreSQL for the tests, then
# fmt, clippy, the test suite and (if present) a benchmark smoke run.
#
#   scripts/test.sh [--no-setup]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

SETUP=1
for arg in "$@"; do
    case "$arg" in
        --no-setup) SETUP=0 ;;
        -h | --help)
            echo "usage: scripts/test.sh [--no-setup]"
            exit 0
            ;;
        *)
            echo "test: unknown argument: $arg (usage: scripts/test.sh [--no-setup])" >&2
            exit 2
            ;;
    esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'test: error: %s\n' "$*" >&2; exit 1; }

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
fi
export PATH

# What the tree looked like before: the run must leave it as it found it
# (lock files, generated bindings and OpenAPI document included).
STATUS_BEFORE="$(git status --porcelain 2>/dev/null || true)"

# Every npm install of this run (Prism in setup.sh, the UI below) starts from an
# empty npm cache, as on a new machine: a cache warmed by earlier runs once hid
# an incomplete ui/package-lock.json from CI while every new user's run failed.
NPM_CACHE="$(mktemp -d "${TMPDIR:-/tmp}/berth-npm-cache.XXXXXX")"
export npm_config_cache="$NPM_CACHE"
trap 'rm -rf "$NPM_CACHE"' EXIT

if [ "$SETUP" -eq 1 ]; then
    say "setup"
    bash "$ROOT/scripts/setup.sh"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Where setup.sh put the platform emulators (moto, kmock) the adapter tests start.
if [ -z "${BERTH_EMULATORS:-}" ]; then
    if [ "$(id -u)" -eq 0 ]; then BERTH_EMULATORS=/opt/berth-emulators; else BERTH_EMULATORS="$HOME/.cache/berth-emulators"; fi
fi
export BERTH_EMULATORS
export CARGO_TERM_COLOR=never

# --- private PostgreSQL cluster ------------------------------------------------
find_pg_bin() {
    if [ -n "${BERTH_PG_BIN:-}" ] && [ -x "$BERTH_PG_BIN/pg_ctl" ]; then
        echo "$BERTH_PG_BIN"
        return
    fi
    local best=""
    best="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)" || true
    if [ -n "$best" ] && [ -x "$best/pg_ctl" ] && [ -x "$best/initdb" ]; then
        echo "$best"
        return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        best="$(pg_config --bindir 2>/dev/null)" || true
        if [ -n "$best" ] && [ -x "$best/pg_ctl" ]; then
            echo "$best"
            return
        fi
    fi
    return 1
}

PG_BIN="$(find_pg_bin)" || die "no PostgreSQL server binaries found (apt-get install postgresql, or set BERTH_PG_BIN)"

PGTMP="$(mktemp -d "${TMPDIR:-/tmp}/berth-test-pg.XXXXXX")"
chmod 0700 "$PGTMP"
AS=()
if [ "$(id -u)" -eq 0 ]; then
    # initdb and postgres refuse to run as root
    chown postgres:postgres "$PGTMP"
    AS=(runuser -u postgres --)
fi

cleanup() {
    local rc=$?
    if [ -f "$PGTMP/data/postmaster.pid" ]; then
        "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGTMP" "$NPM_CACHE"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() {
    if command -v ss >/dev/null 2>&1; then
        ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

pick_port() {
    local p
    if command -v python3 >/dev/null 2>&1 &&
        p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null)" &&
        [ -n "$p" ]; then
        echo "$p"
        return
    fi
    for ((p = 55432 + RANDOM % 500; p < 65000; p++)); do
        if port_free "$p"; then
            echo "$p"
            return
        fi
    done
    return 1
}

say "postgres: initdb ($PG_BIN)"
if ! "${AS[@]}" "$PG_BIN/initdb" -D "$PGTMP/data" -U berth --auth=trust --no-locale -E UTF8 --no-sync \
    >"$PGTMP/initdb.log" 2>&1; then
    cat "$PGTMP/initdb.log" >&2
    die "initdb failed"
fi

PG_PORT=""
for attempt in 1 2 3 4 5; do
    port="$(pick_port)" || die "no free TCP port found"
    if "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 \
        -o "-p $port -k '$PGTMP' -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null 2>&1; then
        PG_PORT="$port"
        break
    fi
    if grep -qiE 'could not bind|address already in use|could not create any TCP/IP sockets' "$PGTMP/server.log" 2>/dev/null; then
        echo "test: port $port busy, retrying ($attempt)" >&2
        "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 || true
        continue
    fi
    tail -n 30 "$PGTMP/server.log" >&2 || true
    die "PostgreSQL did not start"
done
[ -n "$PG_PORT" ] || die "PostgreSQL did not start (no usable port)"

export DATABASE_URL="postgres://berth@127.0.0.1:$PG_PORT/postgres"
# Anything that falls back to the embedded cluster keeps its data in the temp dir.
export BERTH_DATA_DIR="$PGTMP/berth-data"
say "postgres: ready on 127.0.0.1:$PG_PORT (DATABASE_URL=$DATABASE_URL)"

# --- checks ----------------------------------------------------------------------
say "cargo fmt --all --check"
cargo fmt --all --check

if [ -f "$ROOT/ui/package.json" ]; then
    say "ui: install (lock-file checked), typecheck, lint, tests, build"
    # First: the desktop crate embeds ui/dist (custom-protocol), so clippy
    # and the tests below need the built UI.
    (
        cd "$ROOT/ui"
        # `npm ci` installs exactly what the lock file says and refuses a lock
        # file that is out of date or incomplete (missing entries for other
        # platforms' optional packages included), so no drift goes unnoticed.
        # The npm cache is the empty one made above: a cache warmed by an
        # earlier run cannot stand in for the registry.
        npm ci --no-audit --no-fund || die "ui: 'npm ci' failed; if it says the lock file is out of sync, run 'rm -rf node_modules && npm install' in ui/ and commit package-lock.json"
        npm run typecheck
        npm run lint
        npm test
        npm run build
    )
fi

say "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# Includes the desktop end-to-end test (src-tauri/tests/e2e.rs): the real app
# in its own Xvfb display through tauri-driver; screenshots land in
# $CARGO_TARGET_DIR/e2e-screenshots/.
say "cargo nextest run --workspace --no-fail-fast"
cargo nextest run --workspace --no-fail-fast

# `scripts/run.sh` builds the workspace's binaries right after this: the
# features must resolve as for the tests, so that build compiles nothing.
say "the run command's build reuses the tests' (cargo build --workspace --bins)"
rebuilt="$(cargo build --workspace --bins --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and not m.get("fresh"):
        print(m["package_id"])
')"
if [ -n "$rebuilt" ]; then
    printf '%s\n' "$rebuilt" >&2
    die "cargo build --workspace --bins compiled the crates above again after the tests' build: a dependency feature is turned on only by the tests; add it to tools/workspace-hack/Cargo.toml"
fi

# The bindings test above regenerated ui/src/bindings.ts: it must match what is committed.
if [ -f "$ROOT/ui/src/bindings.ts" ] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    say "generated bindings drift check"
    if ! git -C "$ROOT" diff --exit-code -- ui/src/bindings.ts; then
        die "ui/src/bindings.ts differs from the Rust types: run 'cargo test -p berth-desktop export_bindings' and commit it"
    fi
fi

# The OpenAPI test above (berth-api's export_openapi) regenerated the API's
# document from the code: it must match what is committed.
if [ -f "$ROOT/src-tauri/api/openapi.json" ] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    say "generated OpenAPI document drift check"
    if ! git -C "$ROOT" diff --exit-code -- src-tauri/api/openapi.json; then
        die "src-tauri/api/openapi.json differs from the code: run 'cargo test -p berth-api export_openapi' and commit it"
    fi
fi

if [ -f "$ROOT/tests/src/bin/bench.rs" ]; then
    say "benchmark smoke run (bench --quick)"
    # The dev build the tests made: a smoke run checks that the benchmark
    # runs and prints its table; a release build of the whole dependency
    # tree for it cost CI about ten minutes (the last run took 31.5 of its
    # 30-minute budget). Figures worth quoting come from
    # `cargo run --release -p berth-tests --bin bench` (README).
    cargo run -p berth-tests --bin bench -- --quick
fi

if [ -f "$ROOT/tests/src/bin/day_sim.rs" ]; then
    say "day simulation smoke run (day_sim --quick)"
    # A fifth of the simulated day (about half a minute): checks that the
    # engine runs the day and the table prints. The full day's comparison:
    # `cargo run -p berth-tests --bin day_sim` (README, "Day simulation").
    cargo run -p berth-tests --bin day_sim -- --quick
fi

if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    say "the run left the working tree as it found it"
    STATUS_AFTER="$(git status --porcelain)"
    if [ "$STATUS_AFTER" != "$STATUS_BEFORE" ]; then
        diff <(printf '%s\n' "$STATUS_BEFORE") <(printf '%s\n' "$STATUS_AFTER") >&2 || true
        die "the test command changed files in the working tree (above): commit what it regenerated, or fix the step that writes them"
    fi
fi

say "all checks passed"
