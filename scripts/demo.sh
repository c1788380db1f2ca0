#!/usr/bin/env bash
# The whole story on one machine, no AWS account and no GitHub needed:
#   train the iris model (numpy + scipy) -> start the local sandbox (moto + Docker + GitHub
#   emulation; it also builds the example's wheelhouse: numpy and scipy repacked from this
#   machine's Python) -> run lambda-ml-deploy on examples/iris as a GitHub runner would (OIDC role,
#   Docker-built layer, bundle, smoke tests, `prod` alias) -> call `prod`.
# A second run finds everything unchanged: no build, no upload, no new version.
# Usage: bash scripts/demo.sh        (or: npm run demo). Stop the sandbox: bash scripts/sandbox.sh down
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n### %s\n' "$*"; }

if [[ ! -d node_modules ]]; then
  step "Installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if [[ ! -f dist/index.js ]]; then
  step "Building the action (npm run build -> dist/index.js)"
  npm run build
fi

step "Training the iris model (examples/iris/train.py -> examples/iris/model/iris_model.npz)"
python3 -c 'import numpy, scipy' 2>/dev/null ||
  { echo "demo: train.py needs numpy and scipy in python3 (python3 -m pip install numpy scipy)" >&2; exit 1; }
python3 examples/iris/train.py

step "Starting the local sandbox and the wheelhouse (bash scripts/sandbox.sh up)"
bash scripts/sandbox.sh up

step "Deploying examples/iris with lambda-ml-deploy"
node scripts/demo-run.mjs

printf '\nDone. Run it again to see an unchanged deploy (nothing rebuilt or republished).\n'
printf 'Stop the sandbox with: bash scripts/sandbox.sh down\n'
