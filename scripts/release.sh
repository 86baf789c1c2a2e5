#!/usr/bin/env bash
# Builds the release archives a Terraform registry expects for
# terraform-provider-primus, into target/dist/ (or the directory given as $1):
#   terraform-provider-primus_VERSION_OS_ARCH.zip   (holds terraform-provider-primus_vVERSION)
#   terraform-provider-primus_VERSION_manifest.json (protocol versions: 6.0)
#   terraform-provider-primus_VERSION_SHA256SUMS    (sha256 of the zips and the manifest)
# Sign the SHA256SUMS with `gpg --detach-sign` before publishing; the registry
# checks that signature. Builds for the host platform; set TARGETS="x86_64-unknown-linux-gnu
# aarch64-unknown-linux-gnu" (with those rustup targets and linkers installed) for more.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist=$(mkdir -p "${1:-$root/target/dist}" && cd "${1:-$root/target/dist}" && pwd)
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/provider/Cargo.toml" | head -n1)
name="terraform-provider-primus"
targets=${TARGETS:-$(rustc -vV | sed -n 's/^host: //p')}

platform_of() {
    local arch os
    case "$1" in
        x86_64-*) arch=amd64 ;;
        aarch64-*) arch=arm64 ;;
        *) echo "release.sh: unsupported target $1" >&2; exit 1 ;;
    esac
    case "$1" in
        *-linux-*) os=linux ;;
        *-apple-darwin) os=darwin ;;
        *) echo "release.sh: unsupported target $1" >&2; exit 1 ;;
    esac
    echo "${os}_$arch"
}

command -v zip >/dev/null || { echo "release.sh: needs 'zip' (apt-get install zip)" >&2; exit 1; }
rm -f "$dist/${name}_${version}_"*
host=$(rustc -vV | sed -n 's/^host: //p')
for target in $targets; do
    platform=$(platform_of "$target")
    if [ "$target" = "$host" ]; then
        cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p "$name" >&2
        binary="${CARGO_TARGET_DIR:-$root/target}/release/$name"
    else
        cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p "$name" --target "$target" >&2
        binary="${CARGO_TARGET_DIR:-$root/target}/$target/release/$name"
    fi
    stage=$(mktemp -d)
    install -m 0755 "$binary" "$stage/${name}_v$version"
    # A fixed timestamp and -X (no extra attributes): the zip only changes when the binary does.
    touch -d "1980-01-02 00:00:00" "$stage/${name}_v$version"
    (cd "$stage" && zip -q -X "$dist/${name}_${version}_${platform}.zip" "${name}_v$version")
    rm -rf "$stage"
done
cat >"$dist/${name}_${version}_manifest.json" <<MANIFEST
{
  "version": 1,
  "metadata": {
    "protocol_versions": ["6.0"]
  }
}
MANIFEST
(cd "$dist" && sha256sum "${name}_${version}_"*.zip "${name}_${version}_manifest.json" >"${name}_${version}_SHA256SUMS")
echo "$dist/${name}_${version}_SHA256SUMS" >&2
cat "$dist/${name}_${version}_SHA256SUMS"
