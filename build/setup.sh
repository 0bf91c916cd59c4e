#!/usr/bin/env bash
# Installs what building, booting and testing need: the pinned Rust toolchain
# with its bare-metal targets, QEMU, the device tree compiler, cpio, and apt's
# view of the arm64 packages the Linux guest comes from. Idempotent and quick
# when everything is present; run by `make setup` and every make target that
# needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi
installed=$(rustup +"$toolchain" target list --installed)
for t in aarch64-unknown-none-softfloat aarch64-unknown-none; do
    grep -qx "$t" <<<"$installed" || rustup +"$toolchain" target add "$t"
done
comps=$(rustup +"$toolchain" component list --installed)
for c in rustfmt clippy; do
    grep -q "^$c" <<<"$comps" || rustup +"$toolchain" component add "$c"
done

updated=""
apt_update() {
    if [ -z "$updated" ]; then $sudo apt-get update -q >/dev/null; updated=1; fi
}
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup: adding the arm64 architecture to apt (for the guest's packages)"
    $sudo dpkg --add-architecture arm64
    apt_update
fi
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
command -v dtc >/dev/null || need+=(device-tree-compiler)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
# apt-get download needs package lists that include arm64.
if ! apt-cache policy busybox-static:arm64 2>/dev/null | grep -q Candidate; then
    apt_update
fi
