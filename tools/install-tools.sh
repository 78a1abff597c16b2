#!/usr/bin/env bash
# Install the Debian packages Keel's build and tests need; with --bench or
# --soak, also those only `make bench` or `make soak` needs.
#
# Idempotent: asks dpkg which packages are missing and installs only those,
# so a machine that already has everything stays silent and touches no
# network. Machines are not kept between sessions, so every entry point
# (make, CI) can run this first.
set -euo pipefail

# One package per word; extend here. (zlib1g-dev: the host tests check the
# gzip compressor, http/core/deflate.c, against zlib. cpio: `make bundle`.
# openssl, sslscan: the HTTPS tests make certificates and probe the server.
# `make images`: grub-pc-bin and grub-efi-amd64-bin are GRUB for BIOS and
# UEFI, xorriso and mtools make the ISO, dosfstools (mkfs.fat), fdisk
# (sfdisk) and qemu-utils (qemu-img) the disks; ovmf is the UEFI firmware
# the image tests boot them under.
# libvirt-daemon, libvirt-clients, virtinst, libxml2-utils: the libvirt
# test runs a private libvirtd, virsh, virt-install --print-xml and
# virt-xml-validate; no systemd, no libvirt-daemon-system.
# haproxy: `make cluster` and its rolling-restart test.)
KEEL_TOOL_PACKAGES="gcc make binutils meson ninja-build python3 qemu-system-x86
iproute2 curl wrk xz-utils bzip2 patch ca-certificates clang llvm
libclang-rt-14-dev dpkg-dev iputils-ping grub-pc-bin grub-efi-amd64-bin
grub-common xorriso mtools dosfstools fdisk qemu-utils ovmf zlib1g-dev cpio
openssl sslscan libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
virtinst libxml2-utils haproxy"

# `make bench` only: Go builds the Go peer, gnuplot draws the chart, and the
# libraries are the ones nginx links (copied into its initramfs from here).
# The Linux peers' kernel, busybox and nginx are downloaded, never installed
# (tests/bench/peers.py).
KEEL_BENCH_PACKAGES="golang-go gnuplot-nox libcrypt1 libpcre2-8-0 libssl3 zlib1g"

# `make soak` only: slowhttptest makes the slowloris and slow-body attacks.
KEEL_SOAK_PACKAGES="slowhttptest"

packages=$KEEL_TOOL_PACKAGES
case ${1:-} in
--bench) packages+=" $KEEL_BENCH_PACKAGES" ;;
--soak) packages+=" $KEEL_SOAK_PACKAGES" ;;
esac

missing=()
for pkg in $packages; do
	# db:Status-Status is exactly "installed" only for a fully configured
	# package; half-installed or config-files states count as missing.
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$pkg")
done

((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
	echo "keel: tools: missing ${missing[*]}; run tools/install-tools.sh as root" >&2
	exit 1
fi

echo "keel: tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; refresh them only now that
# we know an install will need them.
if ! apt-get update -q >/dev/null; then
	echo "keel: tools: apt-get update failed" >&2
	exit 1
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "keel: tools: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
