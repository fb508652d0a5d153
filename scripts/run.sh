#!/usr/bin/env bash
# Runs Berth's demo: setup, then `berth demo` (extra arguments are passed on).
#
#   scripts/run.sh [demo arguments...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
fi
export PATH

bash "$ROOT/scripts/setup.sh"

# Without DATABASE_URL Berth starts its embedded PostgreSQL. As root the server
# runs as the `postgres` user, which cannot enter /root (0700): keep the demo's
# data in the repository (git-ignored) unless a location was chosen.
if [ -z "${DATABASE_URL:-}" ] && [ -z "${BERTH_DATA_DIR:-}" ] && [ "$(id -u)" -eq 0 ]; then
    export BERTH_DATA_DIR="$ROOT/.berth-data"
fi

exec cargo run --release -p berth -- demo "$@"
