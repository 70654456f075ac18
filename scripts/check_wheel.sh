#!/usr/bin/env bash
# Check a repaired wheel as its user would get it: a fresh venv in a temporary folder away from
# the source tree, the wheel installed with its dependencies from the package index, then
#   1. the README's Python example (the first ```python block of README.md, read from the file),
#   2. a few training steps of a small CNN (conv, pool, linear; backward; optimizer step): the
#      loss is finite and goes down,
#   3. `auditwheel show`: the platform tag is the expected one and no library outside the
#      manylinux whitelist is needed (libgomp is vendored in pyengine.libs/).
#
#   scripts/check_wheel.sh [WHEEL [EXPECTED_TAG]]
# WHEEL: the one wheel in wheelhouse/ (where scripts/build_wheel.sh puts it) when not given;
# EXPECTED_TAG: the platform tag in WHEEL's name when not given.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ge 1 ]; then
  arg=$1
else
  shopt -s nullglob
  found=("$root"/wheelhouse/pyengine-*.whl)
  shopt -u nullglob
  [ ${#found[@]} -eq 1 ] || { echo "usage: $0 WHEEL [EXPECTED_TAG] (wheelhouse/ holds ${#found[@]} pyengine wheels)" >&2; exit 2; }
  arg=${found[0]}
fi
[ -f "$arg" ] || { echo "check_wheel: no such wheel: $arg" >&2; exit 2; }
wheel=$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")
# pyengine-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl -> manylinux_2_34_x86_64
expected=${2:-$(basename "$wheel" .whl | cut -d- -f5-)}
python=${PYTHON:-python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "== check_wheel: fresh venv in $work"
"$python" -m venv "$work/venv"
py=$work/venv/bin/python
"$work/venv/bin/pip" install -q "$wheel"

# The README's example, taken from README.md itself so the two cannot drift apart.
awk '/^```python$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' \
  "$root/README.md" > "$work/readme_example.py"
[ -s "$work/readme_example.py" ] || { echo "check_wheel: README.md has no \`\`\`python block" >&2; exit 1; }

cat > "$work/cnn_step.py" <<'EOF'
import math, sys
import pyengine as pe
from pyengine import nn

# The installed wheel, not a source tree, answers the import.
assert pe.__file__.startswith(sys.prefix), (pe.__file__, sys.prefix)
print("pyengine", pe.__file__, "cuda available:", pe.cuda.is_available())

pe.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
opt = pe.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
x = pe.randn(16, 1, 28, 28)
y = pe.randint(0, 10, (16,))
losses = []
for _ in range(5):
    loss = nn.CrossEntropyLoss()(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("CNN losses:", " ".join(f"{v:.4f}" for v in losses))
assert all(math.isfinite(v) for v in losses), losses
assert losses[-1] < losses[0], losses
EOF

# Run from the temporary folder, so Python cannot pick up the source checkout.
(
  cd "$work"
  echo "== check_wheel: README example"
  "$py" readme_example.py
  echo "== check_wheel: CNN training steps"
  "$py" cnn_step.py
)

echo "== check_wheel: auditwheel show"
"$work/venv/bin/pip" install -q auditwheel
"$work/venv/bin/auditwheel" show "$wheel"
# The tag the wheel qualifies for, and the libraries outside its whitelist (none once repaired).
"$work/venv/bin/auditwheel" show --json "$wheel" | "$py" -c '
import json, sys
info, expected = json.load(sys.stdin), sys.argv[1]
tag, libs = info["overall_tag"], sorted(info["external_libs"])
if tag != expected:
    sys.exit(f"check_wheel: auditwheel says {tag!r}, expected {expected!r}")
if libs:
    sys.exit(f"check_wheel: libraries outside the manylinux whitelist: {libs}")
print("auditwheel:", tag, "- no external libraries")
' "$expected"
echo "== check_wheel: OK ($expected) in $(( $(date +%s) - start )) s"
