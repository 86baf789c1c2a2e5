#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs the external tools
# the tests drive, builds every binary the tests start, then runs every test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-tools.sh >/dev/null
# Integration and acceptance tests start these binaries as real processes.
cargo build --workspace --bins
cargo test --workspace --no-fail-fast
