#!/usr/bin/env bash
# Opens Berth's desktop app in development mode: the embedded database, the
# simulated platforms and demo traffic, so the pool comes alive at once.
# It sets the machine up first (system packages, Rust and npm dependencies)
# and builds the UI and the app.
#
#   scripts/run.sh              the desktop app (needs a display)
#   scripts/run.sh --headless   the same core and traffic in the terminal (berth demo)
#
# Extra arguments after `--` go to the app (or to `berth demo`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

HEADLESS=0
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --headless) HEADLESS=1 ;;
        --) shift; EXTRA=("$@"); break ;;
        -h | --help)
            sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "run: unknown argument: $1 (usage: scripts/run.sh [--headless] [-- ARGS...])" >&2
            exit 2
            ;;
    esac
    shift
done

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
fi
export PATH

bash "$ROOT/scripts/setup.sh"

# The same target directory and the same build as the test command
# (`cargo build --workspace`): after `scripts/test.sh` nothing is compiled
# again. tools/workspace-hack says why the feature sets match.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# Without DATABASE_URL Berth starts its embedded PostgreSQL. As root the server
# runs as the `postgres` user, which cannot enter /root (0700): keep the demo's
# data in the repository (git-ignored) unless a location was chosen.
if [ -z "${DATABASE_URL:-}" ] && [ -z "${BERTH_DATA_DIR:-}" ] && [ "$(id -u)" -eq 0 ]; then
    export BERTH_DATA_DIR="$ROOT/.berth-data"
fi
# A couple of idle slots per pool, so there is something to see before traffic.
export POOL_PREWARM_COUNT="${POOL_PREWARM_COUNT:-2}"

build_bins() {
    echo "==> build (cargo build --workspace --bins)"
    cargo build --workspace --bins
}

if [ "$HEADLESS" -eq 1 ]; then
    build_bins
    exec "$CARGO_TARGET_DIR/debug/berth" demo "${EXTRA[@]}"
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    cat >&2 <<'MSG'
run: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop
window cannot open. Either
  - run it on a virtual display:  xvfb-run -a -s "-screen 0 1280x800x24" scripts/run.sh
    (then look at it with a screenshot: DISPLAY=:99 import -window root shot.png,
     using the display number xvfb-run picked), or
  - watch the same pool in the terminal:  scripts/run.sh --headless
MSG
    exit 1
fi

# The UI's packages exactly as locked (`npm ci`), unless the installed ones
# already are (npm's record of them is newer than the lock file); the UI is
# rebuilt only when a source is newer than the last build, because a rebuilt
# ui/dist makes Cargo recompile the app that embeds it.
(
    cd "$ROOT/ui"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        echo "==> ui: npm ci"
        npm ci --no-audit --no-fund
    fi
    if [ ! -f dist/index.html ] ||
        [ -n "$(find src public index.html package.json package-lock.json vite.config.ts tsconfig.json -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
        echo "==> ui: build"
        npm run build
    fi
)

build_bins
echo "==> desktop app (development mode, simulated platforms, demo traffic)"
exec "$CARGO_TARGET_DIR/debug/berth-desktop" --dev --demo "${EXTRA[@]}"
