#!/usr/bin/env bash
# Benchmark of onboarding remote hosts over SSH (issue #18): N simulated hosts
# (one real sshd each, on loopback) x U users, primus_permanent_secret with
# `host` against terraform_data + remote-exec running `ppin -a` on the same
# sshds, in the same run, on Terraform 1.15.5 with the release build; prints
# the wall times and ours/peer as a Markdown table.
#   BENCH_SSH_HOSTS=10,50   host counts (default 10,50)
#   BENCH_SSH_USERS=1,3     users per host (default 1,3)
# Needs scripts/install-tools.sh (Terraform 1.15.5, openssh-server).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ -x /usr/sbin/sshd ] || { echo "bench-ssh.sh: /usr/sbin/sshd is missing; run scripts/install-tools.sh" >&2; exit 1; }
scripts/install-tools.sh >/dev/null
# The bench finds the provider, ppin and hsm-sim beside itself, in target/release.
cargo build --release -p terraform-provider-primus -p hsm-sim -p ppin --bins
exec cargo bench -p acceptance-tests --bench ssh
