#!/usr/bin/env bash
# Builds the release archives a Terraform registry expects for
# terraform-provider-primus, into target/dist/ (or the directory given):
#   terraform-provider-primus_VERSION_OS_ARCH.zip    (holds terraform-provider-primus_vVERSION)
#   terraform-provider-primus_VERSION_manifest.json  (protocol versions: 6.0)
#   terraform-provider-primus_VERSION_SHA256SUMS     (sha256 of the zips and the manifest)
#   terraform-provider-primus_VERSION_SHA256SUMS.sig (with a key: its detached binary
#                                                     signature, which the registry and
#                                                     `terraform init` verify)
#
#   scripts/release.sh [--gpg-key KEYID] [--binary PATH] [DIR]
#   --gpg-key KEYID  sign SHA256SUMS with this key of the gpg keyring (also: GPG_KEY=KEYID;
#                    GNUPGHOME selects the keyring); without one the release is unsigned
#   --binary PATH    package this host binary instead of building one (tests)
#
# Builds for the host platform; set TARGETS="x86_64-unknown-linux-gnu
# aarch64-unknown-linux-gnu" (with those rustup targets and linkers installed) for more.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpg_key=${GPG_KEY:-}
binary=""
dist_arg=""
while [ $# -gt 0 ]; do
    case "$1" in
        --gpg-key) gpg_key=${2:?release.sh: --gpg-key needs a key id}; shift 2 ;;
        --binary) binary=${2:?release.sh: --binary needs a path}; shift 2 ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "release.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) dist_arg=$1; shift ;;
    esac
done
dist=$(mkdir -p "${dist_arg:-$root/target/dist}" && cd "${dist_arg:-$root/target/dist}" && pwd)
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/provider/Cargo.toml" | head -n1)
name="terraform-provider-primus"
host=$(rustc -vV | sed -n 's/^host: //p')
targets=${TARGETS:-$host}
if [ -n "$binary" ] && [ "$targets" != "$host" ]; then
    echo "release.sh: --binary packages the host platform only; unset TARGETS" >&2
    exit 2
fi

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
if [ -n "$gpg_key" ]; then
    command -v gpg >/dev/null || { echo "release.sh: signing needs 'gpg' (apt-get install gnupg)" >&2; exit 1; }
    # Fail before building when the key is not there to sign with.
    gpg --batch --list-secret-keys "$gpg_key" >/dev/null 2>&1 || {
        echo "release.sh: no secret key '$gpg_key' in the gpg keyring${GNUPGHOME:+ $GNUPGHOME}" >&2
        exit 1
    }
fi
rm -f "$dist/${name}_${version}_"*
for target in $targets; do
    platform=$(platform_of "$target")
    if [ -n "$binary" ]; then
        built=$binary
    elif [ "$target" = "$host" ]; then
        cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p "$name" >&2
        built="${CARGO_TARGET_DIR:-$root/target}/release/$name"
    else
        cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p "$name" --target "$target" >&2
        built="${CARGO_TARGET_DIR:-$root/target}/$target/release/$name"
    fi
    stage=$(mktemp -d)
    install -m 0755 "$built" "$stage/${name}_v$version"
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
sums="${name}_${version}_SHA256SUMS"
(cd "$dist" && sha256sum "${name}_${version}_"*.zip "${name}_${version}_manifest.json" >"$sums")
if [ -n "$gpg_key" ]; then
    # Detached and binary (not --armor): the form the registry protocol serves and Terraform checks.
    gpg --batch --yes --local-user "$gpg_key" --output "$dist/$sums.sig" --detach-sign "$dist/$sums"
    echo "release.sh: signed $sums with gpg key $gpg_key ($sums.sig)" >&2
else
    echo "release.sh: UNSIGNED release: no --gpg-key or GPG_KEY given, so no $sums.sig;" \
        "a registry refuses it until you run: gpg --detach-sign $dist/$sums" >&2
fi
echo "$dist/$sums" >&2
cat "$dist/$sums"
