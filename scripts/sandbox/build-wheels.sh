#!/usr/bin/env bash
# Build the wheelhouse of an example, offline, into <example>/wheels/ (gitignored; the example's
# requirements file points pip there with --no-index --find-links ./wheels):
#   - every deps/<project>/pyproject.toml becomes a pure-Python wheel (build-wheel.py);
#   - every distribution named in <example>/wheelhouse.txt is repacked from the files the
#     machine's Python has installed (repack-wheel.py): numpy and scipy keep their manylinux tags
#     and their compiled libraries, so the layer build installs real binary wheels.
# Wheels are byte-reproducible and cached: a repacked wheel is redone only when the installed
# files or the script change (or the wheel was altered). Wheels no longer wanted are removed.
# Usage: bash scripts/sandbox/build-wheels.sh [example-dir]     (default: examples/iris)
# WHEEL_PYTHON=<interpreter> picks the Python the binary wheels come from; it must match the
# sandbox runtime (CPython 3.11, x86_64). Default: the first of PYTHON, python3.11, python3 that has them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EXAMPLE="${1:-$ROOT/examples/iris}"
OUT="$EXAMPLE/wheels"
TARGET_PYTHON=3.11
TARGET_MACHINE=x86_64
[[ -d $EXAMPLE ]] || { echo "build-wheels: no folder $EXAMPLE" >&2; exit 1; }

PY=""
for candidate in ${PYTHON:-} python3 python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import tomllib' 2>/dev/null; then PY=$candidate; break; fi
done
[[ -n $PY ]] || { echo "build-wheels: needs Python 3.11+ (tomllib) as python3" >&2; exit 1; }

mkdir -p "$OUT"
wanted=()
shopt -s nullglob
for project in "$EXAMPLE"/deps/*/; do
  [[ -f $project/pyproject.toml ]] || continue
  wheel=$("$PY" "$ROOT/scripts/sandbox/build-wheel.py" "$project" "$OUT")
  wanted+=("$(basename "$wheel")")
  echo "built ${wheel#"$ROOT"/}"
done

dists=()
if [[ -f $EXAMPLE/wheelhouse.txt ]]; then
  while read -r line; do
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [[ -n $line ]] && dists+=("$line")
  done <"$EXAMPLE/wheelhouse.txt"
fi

if ((${#dists[@]})); then
  # An interpreter that matches the runtime and has every distribution installed.
  check="import importlib.metadata as m, platform, sys
def has(name):
    try:
        return bool(m.version(name))
    except m.PackageNotFoundError:
        return False
ok = sys.implementation.name == 'cpython' and '%d.%d' % sys.version_info[:2] == '$TARGET_PYTHON'
ok = ok and platform.machine() == '$TARGET_MACHINE' and all(has(d) for d in sys.argv[1:])
sys.exit(0 if ok else 1)"
  repack_py=""
  for candidate in ${WHEEL_PYTHON:-} ${PYTHON:-} python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "$check" "${dists[@]}" 2>/dev/null; then
      repack_py=$candidate
      break
    fi
  done
  if [[ -z $repack_py ]]; then
    echo "build-wheels: ${dists[*]} must be installed (from manylinux wheels) in a CPython $TARGET_PYTHON" \
      "on $TARGET_MACHINE, the sandbox runtime; none of ${WHEEL_PYTHON:-} ${PYTHON:-} python3.11 python3 has them." \
      "Install them (python3.11 -m pip install ${dists[*]}) or set WHEEL_PYTHON to such an interpreter." >&2
    exit 1
  fi
  for dist in "${dists[@]}"; do
    line=$("$repack_py" "$ROOT/scripts/sandbox/repack-wheel.py" "$dist" "$OUT")
    wanted+=("$(basename "${line#* }")")
    echo "${line%% *} ${line#* }" | sed "s|$ROOT/||"
  done
fi

((${#wanted[@]})) || { echo "build-wheels: no deps/*/pyproject.toml and no wheelhouse.txt in $EXAMPLE" >&2; exit 1; }
for wheel in "$OUT"/*.whl; do
  name=$(basename "$wheel")
  if [[ " ${wanted[*]} " != *" $name "* ]]; then
    rm -f "$wheel"
    echo "removed ${wheel#"$ROOT"/} (no longer built)"
  fi
done
