#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs the external tools
# the tests drive, builds every binary the tests start, then runs every test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Terraform 1.0.3 and 1.15.5, the two versions the acceptance suite runs
# every test on (acceptance-tests: MODULE::terraform_1_0_3::TEST, ...::terraform_1_15_5::TEST),
# and 1.11.4 for the lifecycle tests below; gpg for the signed-release test.
scripts/install-tools.sh >/dev/null
# The house style, enforced: formatting, and clippy with every warning an error
# (unwrap outside tests among them; see clippy.toml).
cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# Integration and acceptance tests start these binaries as real processes.
cargo build --workspace --bins
cargo test --workspace --no-fail-fast
# The lifecycle and write-only tests once more, on Terraform 1.11.4 (the first
# release with write-only attributes); scripts/compat.sh runs every minor.
TF_ACC_TERRAFORM="$root/.tools/bin/terraform-1.11.4" cargo test -p acceptance-tests --test acceptance -- \
    terraform_1_15_5::lifecycle_plan_apply_import_update_destroy \
    terraform_1_15_5::entry_removed_out_of_band_is_planned_for_creation \
    terraform_1_15_5::one_apply_writes_primus_cfg_and_onboards_through_it write_only::
# The API docs build without a broken link or any other warning.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# docs/ must match what the provider's schema and examples/ render.
scripts/docs.sh --check >/dev/null
# The README's first command (the quickstart), on the debug build made above.
quickstart_dir=$(mktemp -d)
if ! QUICKSTART_PROFILE=debug QUICKSTART_DIR="$quickstart_dir" scripts/quickstart.sh >"$quickstart_dir.log" 2>&1; then
    cat "$quickstart_dir.log"
    echo "scripts/quickstart.sh failed" >&2
    exit 1
fi
if ! grep -q "permanent secret: Configured" "$quickstart_dir.log"; then
    cat "$quickstart_dir.log"
    echo "scripts/quickstart.sh did not show a configured permanent secret" >&2
    exit 1
fi
if ! grep -q "terraform.tfstate holds neither" "$quickstart_dir.log"; then
    cat "$quickstart_dir.log"
    echo "scripts/quickstart.sh did not check its state for passwords" >&2
    exit 1
fi
rm -rf "$quickstart_dir" "$quickstart_dir.log"
