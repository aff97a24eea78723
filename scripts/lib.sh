# Shared helpers for scripts/*. Source it; it sets strict mode.
set -euo pipefail
TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TESSERA_ROOT
# Git-ignored home of everything built or installed for this checkout (keyed by version inside).
export TESSERA_CACHE="${TESSERA_CACHE:-$TESSERA_ROOT/.cache}"
mkdir -p "$TESSERA_CACHE"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs as root in CI and on fresh machines; use sudo only when it exists and we are not root.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

# Installs Debian packages that are not installed yet; names the package when apt fails.
apt_ensure() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq || die "apt-get update failed (needed for: ${missing[*]})"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
}

# A stamp file records the key that produced a build; `stamp_ok KEYFILE KEY` says whether it is current.
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
hash_files() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
