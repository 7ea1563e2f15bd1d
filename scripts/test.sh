#!/usr/bin/env bash
# The test command (README; .ci/run): set up, then lint, type-check, unit and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
unset NODE_EXTRA_CA_CERTS
echo "== lint" && biome check .
echo "== typecheck" && tsc --noEmit
echo "== unit tests" && node --test --test-concurrency=2 "src/**/*.test.ts"
echo "== end-to-end tests" && node --test --test-concurrency=1 "test/**/*.test.ts"
