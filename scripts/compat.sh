#!/usr/bin/env bash
# Runs the acceptance tests of every Terraform feature the provider uses on
# every Terraform minor it supports, and prints one table: PASS or FAIL per
# release and feature, "-" where the release lacks the feature.
#
#   scripts/compat.sh [VERSION...]     default: 1.0.3 and every minor from 1.6 to 1.15
#
# The releases come from `scripts/install-tools.sh --all-versions`. Each runs
# the current-release tests (terraform_1_15_5::…) through TF_ACC_TERRAFORM;
# 1.0.3 runs its own (terraform_1_0_3::…). Logs of failures: target/compat/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.0.3 1.6.6 1.8.4 1.9.8 1.10.5 1.11.4 1.12.2 1.13.5 1.14.9 1.15.5)
logs="$root/target/compat"
mkdir -p "$logs"

scripts/install-tools.sh --all-versions >/dev/null
cargo build --quiet --workspace --bins
cargo test --quiet -p acceptance-tests --test acceptance --no-run 2>/dev/null

# FEATURE  FIRST-MINOR  TEST-FILTER... (cargo test name filters, any may match)
features=(
    "lifecycle|0|lifecycle_plan_apply_import_update_destroy"
    "write-only|11|write_only::"
    "functions|8|functions::"
    "identity|12|identity::"
    "query|14|query::"
    "actions|14|actions::"
)

minor_of() { local rest=${1#*.}; echo "${rest%%.*}"; }

# run_cell VERSION FEATURE FILTER: PASS when every selected test passes and at least one ran.
run_cell() {
    local version=$1 feature=$2 filter=$3 log="$logs/$1-$2.log" prefix env=()
    if [ "$version" = 1.0.3 ]; then
        prefix=terraform_1_0_3
    else
        prefix=terraform_1_15_5
        env=(TF_ACC_TERRAFORM="$root/.tools/bin/terraform-$version")
    fi
    # The lifecycle filter names a test; the feature filters name a module.
    case "$filter" in
        *::) filter="$filter" ;;
        *) filter="$prefix::$filter" ;;
    esac
    if env "${env[@]}" cargo test --quiet -p acceptance-tests --test acceptance -- "$filter" >"$log" 2>&1 \
        && grep -Eq "test result: ok\. [1-9][0-9]* passed" "$log"; then
        rm -f "$log"
        echo PASS
    else
        echo FAIL
    fi
}

header=$(printf "%-10s" Terraform)
for entry in "${features[@]}"; do header+=$(printf " %-10s" "${entry%%|*}"); done
rows=()
failed=0
for version in "${versions[@]}"; do
    row=$(printf "%-10s" "$version")
    for entry in "${features[@]}"; do
        IFS='|' read -r feature first filter <<<"$entry"
        if [ "$version" = 1.0.3 ] && [ "$feature" != lifecycle ]; then
            cell=-
        elif [ "$(minor_of "$version")" -lt "$first" ]; then
            cell=-
        else
            cell=$(run_cell "$version" "$feature" "$filter")
            [ "$cell" = PASS ] || failed=1
        fi
        echo "compat: Terraform $version $feature: $cell" >&2
        row+=$(printf " %-10s" "$cell")
    done
    rows+=("$row")
done

echo "$header"
printf '%s\n' "${rows[@]}"
[ "$failed" = 0 ] || echo "compat: failures logged in $logs" >&2
exit "$failed"
