#!/usr/bin/env bash
# Builds terraform-provider-primus and installs it where Terraform finds it.
#
#   scripts/install-provider.sh                   release build into Terraform's implicit
#                                                 local mirror (~/.local/share/terraform/plugins),
#                                                 found by `terraform init` with no CLI config
#   scripts/install-provider.sh --mirror DIR      into the filesystem mirror DIR, and writes
#                                                 DIR/terraformrc: export TF_CLI_CONFIG_FILE=DIR/terraformrc
#   options: --debug (debug build)  --binary PATH (install PATH, build nothing)
#            --with-null (also install hashicorp/null 2.1.2 from .tools/, for the benchmark)
#
# Source address: registry.terraform.io/primus-iac/primus, i.e.
#   required_providers { primus = { source = "primus-iac/primus" } }
# After reinstalling, run `terraform init -upgrade` (the lock file pins the checksum).
# Prints the CLI config path (with --mirror) or the mirror directory on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

source_address="registry.terraform.io/primus-iac/primus"
null_address="registry.terraform.io/hashicorp/null"
mirror="${XDG_DATA_HOME:-$HOME/.local/share}/terraform/plugins"
write_config=false
profile=release
binary=""
with_null=false

while [ $# -gt 0 ]; do
    case "$1" in
        --mirror) mirror=$2; write_config=true; shift 2 ;;
        --debug) profile=debug; shift ;;
        --binary) binary=$2; shift 2 ;;
        --with-null) with_null=true; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-provider.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/provider/Cargo.toml" | head -n1)
case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) echo "install-provider.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
platform="$(uname -s | tr '[:upper:]' '[:lower:]')_$arch"

if [ -z "$binary" ]; then
    if [ "$profile" = release ]; then
        cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p terraform-provider-primus >&2
    else
        cargo build --quiet --manifest-path "$root/Cargo.toml" -p terraform-provider-primus >&2
    fi
    binary="${CARGO_TARGET_DIR:-$root/target}/$profile/terraform-provider-primus"
fi

mkdir -p "$mirror"
mirror=$(cd "$mirror" && pwd)
dest="$mirror/$source_address/$version/$platform"
mkdir -p "$dest"
install -m 0755 "$binary" "$dest/terraform-provider-primus_v$version"
echo "installed $source_address $version ($platform) into $mirror" >&2

includes="\"$source_address\""
if [ "$with_null" = true ]; then
    null_binary="$root/.tools/null/terraform-provider-null_v2.1.2_x4"
    if [ ! -x "$null_binary" ]; then
        "$root/scripts/install-tools.sh" >/dev/null
    fi
    null_dest="$mirror/$null_address/2.1.2/$platform"
    mkdir -p "$null_dest"
    install -m 0755 "$null_binary" "$null_dest/terraform-provider-null_v2.1.2_x4"
    includes="$includes, \"$null_address\""
fi

if [ "$write_config" = true ]; then
    # Only our providers come from the mirror; everything else stays on the registry.
    cat >"$mirror/terraformrc" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = [$includes]
  }
  direct {
    exclude = [$includes]
  }
}
CONFIG
    echo "$mirror/terraformrc"
else
    echo "$mirror"
fi
