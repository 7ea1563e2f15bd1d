#!/usr/bin/env bash
# The main job (README): set up, then run the sandbox in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec bin/raven sandbox up "$@"
