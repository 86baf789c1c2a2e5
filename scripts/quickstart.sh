#!/usr/bin/env bash
# The quickstart: onboards one user of the bundled HSM simulator with a real
# `terraform apply`, then shows the result with `ppin -l`.
#
#   1. installs terraform 1.15.5 into .tools/ (scripts/install-tools.sh)
#   2. builds the provider, hsm-sim and ppin (release; QUICKSTART_PROFILE=debug for a debug build)
#   3. starts `hsm-sim --dev` with its state in a fresh directory
#   4. installs the provider into a filesystem mirror there (scripts/install-provider.sh)
#   5. runs `terraform init` and `terraform apply -auto-approve` on examples/quickstart
#      (write-only passwords from ephemeral variables) and checks that the
#      state holds neither password
#   6. lists the configured secrets with `ppin -l`, then stops the simulator
#
# Everything it writes lives in QUICKSTART_DIR (default: a new temp directory,
# kept so you can look at it and run more terraform commands; its path is printed).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
profile=${QUICKSTART_PROFILE:-release}
dir=${QUICKSTART_DIR:-$(mktemp -d -t primus-quickstart.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

step() { printf '\n==> %s\n' "$*"; }

step "Installing terraform 1.15.5 into .tools/"
"$root/scripts/install-tools.sh" >/dev/null
# The write-only arguments examples/quickstart uses need Terraform 1.11 or later.
terraform="$root/.tools/bin/terraform-1.15.5"

step "Building terraform-provider-primus, hsm-sim and ppin ($profile)"
profile_flag=(--release)
[ "$profile" = debug ] && profile_flag=()
cargo build --quiet "${profile_flag[@]}" --manifest-path "$root/Cargo.toml" \
    -p terraform-provider-primus -p hsm-sim -p ppin --bins
bin="${CARGO_TARGET_DIR:-$root/target}/$profile"

step "Starting the HSM simulator (hsm-sim --dev) in $dir/hsm"
mkdir -p "$dir/hsm"
"$bin/hsm-sim" --dev --state-dir "$dir/hsm" >"$dir/hsm-sim.log" 2>&1 &
sim_pid=$!
stop_sim() {
    if kill -0 "$sim_pid" 2>/dev/null; then
        kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
    fi
}
trap stop_sim EXIT
# The simulator writes dev.env (exports and dev credentials) once it listens.
for _ in $(seq 1 100); do
    [ -s "$dir/hsm/dev.env" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$dir/hsm-sim.log" >&2; exit 1; }
    sleep 0.1
done
[ -s "$dir/hsm/dev.env" ] || { echo "hsm-sim did not start within 10 s; log: $dir/hsm-sim.log" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$dir/hsm/dev.env"
set +a

step "Installing the provider into the filesystem mirror $dir/mirror"
export TF_CLI_CONFIG_FILE
TF_CLI_CONFIG_FILE=$("$root/scripts/install-provider.sh" --mirror "$dir/mirror" --binary "$bin/terraform-provider-primus")

step "terraform init && terraform apply (examples/quickstart)"
mkdir -p "$dir/work"
cp "$root/examples/quickstart/main.tf" "$dir/work/"
export TF_IN_AUTOMATION=1
export TF_VAR_user="$PRIMUS_DEV_USER"
export TF_VAR_setup_password="$PRIMUS_DEV_SETUP_PASSWORD"
export TF_VAR_pkcs11_password="$PRIMUS_DEV_PKCS11_PASSWORD"
"$terraform" -chdir="$dir/work" init -input=false -no-color
"$terraform" -chdir="$dir/work" apply -input=false -auto-approve -no-color

step "Checking that terraform.tfstate holds no password"
for password in "$TF_VAR_setup_password" "$TF_VAR_pkcs11_password"; do
    if grep -qF -- "$password" "$dir/work/terraform.tfstate"; then
        echo "a password is in $dir/work/terraform.tfstate" >&2
        exit 1
    fi
done
echo "terraform.tfstate holds neither the setup password nor the PKCS#11 password"

step "ppin -l"
"$bin/ppin" -l

cat <<DONE

Done. The simulator is stopped; its state, the terraform working directory and
the mirror are in $dir. To continue there, restart the simulator with
  $bin/hsm-sim --dev --state-dir $dir/hsm &
and run terraform with
  set -a; . $dir/hsm/dev.env; set +a
  export TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG_FILE
  $terraform -chdir=$dir/work plan
DONE
