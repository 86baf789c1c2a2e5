#!/usr/bin/env bash
# Runs the acceptance tests of every Terraform feature the provider uses on
# every Terraform minor it supports, and prints one table: PASS or FAIL per
# release and feature, "-" where the release lacks the feature.
#
#   scripts/compat.sh [VERSION...]     default: 1.0.3 and every minor from 1.6 to 1.15
#
# The releases come from `scripts/install-tools.sh --all-versions`. Each runs
# the current-release tests (terraform_1_15_5::…) through TF_ACC_TERRAFORM;
# 1.0.3 runs its own (terraform_1_0_3::…). One test run per release, its
# log in target/compat/VERSION.log.
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

# FEATURE|FIRST-MINOR|TEST-NAME-PARTS: the tests of a feature are those whose
# name contains one of the comma-separated parts (those starting with :: after
# the release's module prefix). The lifecycle: create, refresh after an
# out-of-band removal, import, update, destroy, of every resource.
features=(
    "lifecycle|0|::lifecycle_plan_apply_import_update_destroy,::entry_removed_out_of_band_is_planned_for_creation,::one_apply_writes_primus_cfg_and_onboards_through_it"
    "write-only|11|write_only::"
    "functions|8|functions::"
    "identity|12|identity::"
    "query|14|query::"
    "actions|14|actions::"
)

# The test name parts of PARTS (comma-separated), one a line, with PREFIX before those starting with ::.
parts_of() {
    local part
    for part in ${1//,/ }; do
        case "$part" in ::*) echo "$2$part" ;; *) echo "$part" ;; esac
    done
}

# feature_passed LOG PARTS PREFIX: every part names at least one test that passed, and none failed.
feature_passed() {
    local part results
    while read -r part; do
        results=$(grep -F -e "$part" "$1" | grep -E '^test .* \.\.\. (ok|FAILED)$' || true)
        grep -q ' ok$' <<<"$results" || return 1
        ! grep -q ' FAILED$' <<<"$results" || return 1
    done < <(parts_of "$2" "$3")
}

minor_of() { local rest=${1#*.}; echo "${rest%%.*}"; }

# The features VERSION has (1.0.3 only the lifecycle).
features_of() {
    local entry feature first
    for entry in "${features[@]}"; do
        IFS='|' read -r feature first _ <<<"$entry"
        if [ "$1" = 1.0.3 ]; then
            [ "$feature" = lifecycle ] && echo "$entry"
        elif [ "$(minor_of "$1")" -ge "$first" ]; then
            echo "$entry"
        fi
    done
}

header=$(printf "%-10s" Terraform)
for entry in "${features[@]}"; do header+=$(printf " %-10s" "${entry%%|*}"); done
rows=()
failed=0
for version in "${versions[@]}"; do
    mapfile -t own < <(features_of "$version")
    if [ "$version" = 1.0.3 ]; then
        prefix=terraform_1_0_3 env=()
    else
        prefix=terraform_1_15_5 env=(TF_ACC_TERRAFORM="$root/.tools/bin/terraform-$version")
    fi
    filters=()
    for entry in "${own[@]}"; do
        mapfile -t parts < <(parts_of "${entry##*|}" "$prefix")
        filters+=("${parts[@]}")
    done
    # One run per release, its tests in parallel; each test's line says ok or FAILED.
    log="$logs/$version.log"
    env "${env[@]}" cargo test -p acceptance-tests --test acceptance -- "${filters[@]}" >"$log" 2>&1 || true
    row=$(printf "%-10s" "$version")
    for entry in "${features[@]}"; do
        feature=${entry%%|*}
        if ! printf '%s\n' "${own[@]}" | grep -qxF "$entry"; then
            cell=-
        elif feature_passed "$log" "${entry##*|}" "$prefix"; then
            cell=PASS
        else
            cell=FAIL
            failed=1
        fi
        echo "compat: Terraform $version $feature: $cell" >&2
        row+=$(printf " %-10s" "$cell")
    done
    rows+=("$row")
done

echo "$header"
printf '%s\n' "${rows[@]}"
[ "$failed" = 0 ] || echo "compat: see the logs in $logs" >&2
exit "$failed"
