#!/usr/bin/env bash
# Measures the desktop app's memory and CPU under demo traffic: starts the app
# (development mode; the release build unless --debug) in its own Xvfb
# display on a fresh database, drives demo traffic beside it (`berth demo`)
# for the traffic phase, then leaves it idle, and samples /proc for the app's whole process tree (the app, WebKit's web
# and network processes, any other child) every few seconds.
#
#   scripts/desktop-profile.sh            10 min of traffic, then 2 min idle
#   scripts/desktop-profile.sh --quick    3 min of traffic, then 1 min idle
#   scripts/desktop-profile.sh --traffic-secs N --idle-secs N --interval N
#   scripts/desktop-profile.sh --debug    the debug build of the app instead
#
# Figures: $CARGO_TARGET_DIR (or target)/e2e-screenshots/desktop-profile.md (and every sample in
# desktop-profile.csv). Uses the built binaries: the app from
# `cargo build --release -p berth-desktop` (what the package ships; with
# --debug, `cargo build -p berth-desktop`) and the CLI from
# `cargo build -p berth`, ui/dist built first; DATABASE_URL if set (a fresh
# database is created on that server and dropped), the embedded one otherwise.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/e2e-screenshots" # beside the end-to-end test's screenshots
TRAFFIC=600
IDLE=120
INTERVAL=5
BUILD=release
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) TRAFFIC=180; IDLE=60 ;;
        --traffic-secs) TRAFFIC="$2"; shift ;;
        --idle-secs) IDLE="$2"; shift ;;
        --interval) INTERVAL="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --debug) BUILD=debug ;;
        -h | --help)
            sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "desktop-profile: unknown argument: $1 (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

# The release build by default: a debug binary adds ~40 MB of its own
# resident code to the app, which no user runs.
APP="$TARGET/$BUILD/berth-desktop"
CLI="$TARGET/debug/berth"
if [ "$BUILD" = release ]; then APP_BUILD="cargo build --release -p berth-desktop"; else APP_BUILD="cargo build -p berth-desktop"; fi
[ -x "$APP" ] || { echo "desktop-profile: $APP missing: $APP_BUILD (or --debug for the debug build)" >&2; exit 1; }
[ -x "$CLI" ] || { echo "desktop-profile: $CLI missing: cargo build -p berth" >&2; exit 1; }
command -v Xvfb >/dev/null || { echo "desktop-profile: Xvfb missing (apt-get install xvfb)" >&2; exit 1; }
mkdir -p "$OUT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-profile.XXXXXX")"
chmod 755 "$WORK" # as root the embedded server runs as `postgres`
PIDS=()
DB=""
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$DB" ]; then psql -q "$BASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export BERTH_DEV=1 POOL_PREWARM_COUNT="${POOL_PREWARM_COUNT:-2}"
export BERTH_POOLS_DIR="$WORK/pools" BERTH_DATA_DIR="$WORK/data"
export RUST_LOG="${RUST_LOG:-warn,berth_core=info,berth_desktop=info}"
if [ -n "${DATABASE_URL:-}" ]; then
    BASE_URL="$DATABASE_URL"
    DB="berth_profile_$$"
    psql -q "$BASE_URL" -c "CREATE DATABASE $DB"
    export DATABASE_URL="${BASE_URL%/*}/$DB"
fi

# A free display number.
DISPLAY_NUM=""
for n in $(seq 120 139); do
    if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then DISPLAY_NUM=$n; break; fi
done
[ -n "$DISPLAY_NUM" ] || { echo "desktop-profile: no free X display in :120-:139" >&2; exit 1; }
Xvfb ":$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
export DISPLAY=":$DISPLAY_NUM"
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] && break; sleep 0.1; done

echo "==> $BUILD build of the app ($APP) on $DISPLAY (log: $OUT/desktop-profile-app.log)"
"$APP" --dev >"$OUT/desktop-profile-app.log" 2>&1 &
APP_PID=$!
PIDS=("$APP_PID" "${PIDS[@]}")
for _ in $(seq 120); do
    grep -q "core started" "$OUT/desktop-profile-app.log" && break
    kill -0 "$APP_PID" 2>/dev/null || { echo "desktop-profile: the app exited" >&2; cat "$OUT/desktop-profile-app.log" >&2; exit 1; }
    sleep 0.5
done
grep -q "core started" "$OUT/desktop-profile-app.log" || { echo "desktop-profile: the core did not start in 60 s" >&2; exit 1; }

echo "==> demo traffic for ${TRAFFIC} s, then ${IDLE} s without; a sample every ${INTERVAL} s"
"$CLI" demo --duration-secs "$TRAFFIC" >"$OUT/desktop-profile-demo.log" 2>&1 &
PIDS+=($!)
python3 "$ROOT/scripts/desktop_profile.py" --pid "$APP_PID" --build "$BUILD" --traffic-secs "$TRAFFIC" \
    --idle-secs "$IDLE" --interval "$INTERVAL" --out "$OUT"
if command -v import >/dev/null; then
    import -display "$DISPLAY" -window root "$OUT/desktop-profile.png" 2>/dev/null || true
fi
