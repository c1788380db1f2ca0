#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what is missing, brings the local AWS
# sandbox up, runs the unit and end-to-end suites, tears the sandbox down, and prints one
# closing line `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

results=$(mktemp -d)
status=0

echo "== typecheck"
npm run --silent typecheck || status=1

echo "== format (prettier --check)"
npm run --silent format:check || status=1

echo "== lint (eslint, type-aware)"
npm run --silent lint || status=1

echo "== unit tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --ci --selectProjects unit \
  --json --outputFile "$results/unit.json" || status=1

if [ "${SKIP_E2E:-}" != "1" ]; then
  echo "== build (e2e tests run dist/index.js as the runner does)"
  npm run build --silent
  echo "== sandbox up"
  trap 'bash scripts/sandbox.sh down >/dev/null 2>&1 || true' EXIT
  bash scripts/sandbox.sh up
  echo "== end-to-end tests"
  NODE_OPTIONS=--experimental-vm-modules npx jest --ci --selectProjects e2e --runInBand \
    --json --outputFile "$results/e2e.json" || status=1

  # `down` must leave no process the sandbox started (moto, the GitHub emulation, dockerd if it
  # started it): counted as one more test.
  echo "== sandbox down"
  pids=$(node -e 'const e = require("./.sandbox/env.json"); console.log([e.SANDBOX_MOTO_PID, e.SANDBOX_GITHUB_PID, e.SANDBOX_DOCKERD_PID].filter(Boolean).join(" "))')
  bash scripts/sandbox.sh down
  trap - EXIT
  left=""
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
  if [ -z "$left" ]; then
    echo "sandbox down: none of the started processes ($pids) is left"
    echo '{"numPassedTests":1,"numFailedTests":0,"numRuntimeErrorTestSuites":0,"numPendingTests":0,"numTodoTests":0}' >"$results/down.json"
  else
    echo "sandbox down: still running:$left"
    echo '{"numPassedTests":0,"numFailedTests":1,"numRuntimeErrorTestSuites":0,"numPendingTests":0,"numTodoTests":0}' >"$results/down.json"
    status=1
  fi
fi

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results"
exit $status
