#!/usr/bin/env bash
# Creates (once) the reference Python environment — pinned PyTorch + diffusers from PyPI — and prints the
# path of its python on stdout; everything else goes to stderr, so callers can write
#   PY="$(tools/reference/venv.sh)" && "$PY" tools/reference/make_fixtures.py
# It is rebuilt only when tools/reference/requirements.txt or the base interpreter changes (stamp file).
# CI never runs this: the fixtures it produces are committed.
source "$(dirname "$0")/../../scripts/lib.sh"

REQUIREMENTS="$TESSERA_ROOT/tools/reference/requirements.txt"
VENV="${TESSERA_REFERENCE_VENV:-$TESSERA_CACHE/reference-venv}"
STAMP="$VENV/.tessera-stamp"

# The base interpreter: diffusers needs Python >= 3.10; 3.11 is what the team's machines have.
base_python() {
  local candidate
  for candidate in "${TESSERA_REFERENCE_PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
      echo "$candidate"
      return 0
    fi
  done
  die "no Python >= 3.10 found (set TESSERA_REFERENCE_PYTHON to one)"
}

PYTHON="$(base_python)"
KEY="$(hash_files "$REQUIREMENTS")-$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"

# Several engineers (and their benchmarks) call this at once: one builds, the others wait for it.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9 || die "cannot lock $VENV.lock"

if stamp_ok "$STAMP" "$KEY" && [ -x "$VENV/bin/python" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

step "creating the reference venv in $VENV (torch + diffusers from PyPI, several GB; about a minute or two)"
started=$SECONDS
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2 || die "python -m venv failed for $VENV"
# --no-deps: requirements.txt pins the whole closure, deliberately without triton (see its header).
# --no-cache-dir: the CUDA wheels are gigabytes; a second copy in ~/.cache/pip helps nobody.
"$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check --no-deps -r "$REQUIREMENTS" >&2 \
  || die "pip install -r $REQUIREMENTS failed (see the pip output above)"

step "checking that torch and diffusers import and run on the CPU"
"$VENV/bin/python" - >&2 <<'EOF' || die "the reference venv does not work; delete $VENV and rerun, or fix requirements.txt"
import torch, diffusers, safetensors, numpy
from diffusers import FluxPipeline, StableDiffusion3Pipeline  # these modules import transformers
x = torch.ones(2, 2)
assert float((x @ x).sum()) == 8.0
print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, safetensors {safetensors.__version__}, numpy {numpy.__version__}")
EOF

echo "$KEY" >"$STAMP"
step "reference venv ready in $((SECONDS - started)) s ($(du -sh "$VENV" | cut -f1))"
echo "$VENV/bin/python"
