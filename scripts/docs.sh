#!/usr/bin/env bash
# Renders the registry documentation docs/index.md, docs/resources/*.md and
# docs/data-sources/*.md from the schemas terraform-provider-primus serves and
# the examples/ in registry layout.
#   scripts/docs.sh           write the pages
#   scripts/docs.sh --check   write nothing; fail when a page is stale (CI runs this)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cargo build --quiet --manifest-path "$root/Cargo.toml" -p terraform-provider-primus -p acceptance-tests --bins
exec "${CARGO_TARGET_DIR:-$root/target}/debug/render-docs" "$@"
