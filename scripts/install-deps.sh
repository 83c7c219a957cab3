#!/usr/bin/env bash
# Install (with apt-get, Debian 12) what building and testing vmm needs.
#
#   scripts/install-deps.sh                 build + test dependencies
#   scripts/install-deps.sh --kernel-build  also what building the test
#                                           kernel from linux-source-6.1 needs
#   scripts/install-deps.sh --bench         also the peers `make bench`
#                                           compares with (QEMU)
#
# Idempotent and quiet when everything is present; runs `apt-get update`
# only when something is missing. Needs root (uses sudo if not root).
set -euo pipefail

usage() {
	echo "usage: $0 [--kernel-build] [--bench]" >&2
	exit 2
}

pkgs=(
	build-essential make gcc clang libclang-rt-dev clang-format pkg-config
	zlib1g-dev libelf-dev libcmocka-dev libslirp-dev
	python3 python3-pytest gdb
	busybox-static cpio e2fsprogs iproute2 iputils-ping
)
kernel_pkgs=(
	linux-source-6.1 flex bison bc libssl-dev libelf-dev
	xz-utils lz4 perl patch binutils kmod cpio dwarves
)

for arg in "$@"; do
	case "$arg" in
	--kernel-build) pkgs+=("${kernel_pkgs[@]}") ;;
	--bench) pkgs+=(qemu-system-x86) ;;
	-h | --help) usage ;;
	*) echo "$0: unknown option: $arg" >&2; usage ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$p")
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "$0: need root to install: ${missing[*]} (not root, no sudo)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
