#!/usr/bin/env bash
# The jest part of `npm test`. The lab suites share one lab and run one at a time (jest.config.js
# maxWorkers: 1); the suites that need no lab (unit, engine) run beside them in a second jest
# process, so the whole takes about as long as the lab suites alone. With arguments, it is
# plain `jest "$@"`.
set -u
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then exec npx jest "$@"; fi

# The providers run from the compiled package (bin/): built once here, not by each jest's
# globalSetup (test/support/buildPackage.ts).
node node_modules/typescript/bin/tsc -p tsconfig.build.json || exit 1
export KOI_PACKAGE_BUILT=1

no_lab='/test/(unit|engine)/[^/]+\.test\.ts$'
side=$(mktemp)
trap 'rm -f "$side"' EXIT
npx jest --testPathPatterns "$no_lab" >"$side" 2>&1 &
side_pid=$!
npx jest --testPathIgnorePatterns "$no_lab"
lab_rc=$?
wait "$side_pid"
side_rc=$?
echo
echo "== the suites without the lab (test/unit, test/engine), run beside the lab suites:"
cat "$side"
echo "== lab suites: exit $lab_rc; suites without the lab: exit $side_rc"
[ "$lab_rc" -eq 0 ] && [ "$side_rc" -eq 0 ]
