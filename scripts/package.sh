#!/usr/bin/env bash
# Builds Berth's Debian package with Tauri's bundler: the desktop app
# (/usr/bin/berth-desktop, its menu entry and icons) and the `berth` command
# (/usr/bin/berth), depending on WebKitGTK 4.1 and on PostgreSQL (the server
# binaries the embedded default database runs from).
#
#   scripts/package.sh          build dist/berth_<version>_<arch>.deb (a release build)
#   scripts/package.sh --test   build it, then install it with apt-get as an operator
#                               would and check the installed app: it starts in
#                               development mode under Xvfb and shows the dashboard
#                               (screenshot: target/e2e-screenshots/installed-dashboard.png);
#                               the package stays installed
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

TEST=0
for arg in "$@"; do
    case "$arg" in
        --test) TEST=1 ;;
        -h | --help)
            sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "package: unknown argument: $arg (usage: scripts/package.sh [--test])" >&2
            exit 2
            ;;
    esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'package: error: %s\n' "$*" >&2; exit 1; }

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
fi
export PATH

bash "$ROOT/scripts/setup.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is missing: the .deb can only be built on Debian or Ubuntu"

say "ui: npm ci, build"
(cd "$ROOT/ui" && npm ci --no-audit --no-fund && npm run build)

say "packaging tools: npm ci (Tauri's CLI and bundler, pinned in packaging/package-lock.json)"
(cd "$ROOT/packaging" && npm ci --no-audit --no-fund)

# One release build of both binaries (one feature resolution, so nothing is
# compiled twice), then Tauri's bundler packs it without building again.
say "berth-desktop and berth (cargo build --release)"
cargo build --release --locked -p berth-desktop -p berth
CLI_BIN="$CARGO_TARGET_DIR/release/berth"

say "the .deb (tauri bundle --bundles deb)"
# The CLI's path depends on the target directory, so it is given here rather
# than in tauri.conf.json.
EXTRA_CONFIG="$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/berth":"%s"}}}}}' "$CLI_BIN")"
rm -rf "$CARGO_TARGET_DIR/release/bundle/deb"
(cd "$ROOT/src-tauri" && "$ROOT/packaging/node_modules/.bin/tauri" bundle --ci --bundles deb --config "$EXTRA_CONFIG")

built="$(ls "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb 2>/dev/null | head -n 1)"
[ -n "$built" ] || die "the bundler produced no .deb in $CARGO_TARGET_DIR/release/bundle/deb"
version="$(dpkg-deb -f "$built" Version)"
arch="$(dpkg-deb -f "$built" Architecture)"
mkdir -p "$ROOT/dist"
DEB="$ROOT/dist/berth_${version}_${arch}.deb"
cp "$built" "$DEB"
say "built $DEB ($(du -h "$DEB" | cut -f1))"
dpkg-deb -f "$DEB" Package Version Depends

[ "$TEST" -eq 1 ] || exit 0

say "package test: what the .deb declares and holds"
[ "$(dpkg-deb -f "$DEB" Package)" = "berth" ] || die "package name is $(dpkg-deb -f "$DEB" Package), not berth"
depends="$(dpkg-deb -f "$DEB" Depends)"
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 postgresql; do
    case ", $depends," in
        *", $dep"[,\ ]*) ;;
        *) die "the .deb does not depend on $dep (Depends: $depends)" ;;
    esac
done
# Paths as listed, without the leading "./" some dpkg versions print.
contents="$(dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./||')"
for f in usr/bin/berth-desktop usr/bin/berth usr/share/applications/Berth.desktop; do
    grep -qx "$f" <<<"$contents" || die "the .deb lacks /$f"
done

say "package test: apt-get install ./$(basename "$DEB")"
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$DEB"
[ "$(dpkg-query -W -f '${Status}' berth)" = "install ok installed" ] || die "dpkg does not list berth as installed"
/usr/bin/berth --version
/usr/bin/berth pools schema >/dev/null || die "the installed berth command does not run"

say "package test: the installed app starts and shows the dashboard (WebDriver, Xvfb)"
BERTH_INSTALLED_APP=/usr/bin/berth-desktop cargo nextest run -p berth-desktop --test package --run-ignored only --no-fail-fast
say "package test passed"
