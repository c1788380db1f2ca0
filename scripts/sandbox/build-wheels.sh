#!/usr/bin/env bash
# Build the wheelhouse of an example, offline: every deps/<project>/pyproject.toml becomes a
# wheel in <example>/wheels/ (the requirements file points pip there with --find-links).
# Usage: bash scripts/sandbox/build-wheels.sh [example-dir]     (default: examples/iris)
# PYTHON=<interpreter> picks the Python (3.11+); default python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EXAMPLE="${1:-$ROOT/examples/iris}"
[[ -d $EXAMPLE/deps ]] || { echo "build-wheels: no deps/ folder in $EXAMPLE" >&2; exit 1; }

PY=""
for candidate in ${PYTHON:-} python3 python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import tomllib' 2>/dev/null; then PY=$candidate; break; fi
done
[[ -n $PY ]] || { echo "build-wheels: needs Python 3.11+ (tomllib) as python3" >&2; exit 1; }

shopt -s nullglob
built=0
for project in "$EXAMPLE"/deps/*/; do
  [[ -f $project/pyproject.toml ]] || continue
  wheel=$("$PY" "$ROOT/scripts/sandbox/build-wheel.py" "$project" "$EXAMPLE/wheels")
  echo "built ${wheel#"$ROOT"/}"
  built=$((built + 1))
done
[[ $built -gt 0 ]] || { echo "build-wheels: no deps/*/pyproject.toml in $EXAMPLE" >&2; exit 1; }
