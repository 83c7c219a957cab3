#!/usr/bin/env bash
# Install (with apt-get, Debian 12) what building and testing vmm needs.
#
#   scripts/install-deps.sh                 build + test dependencies
#   scripts/install-deps.sh --kernel-build  also what building the test
#                                           kernel from linux-source-6.1 needs
#   scripts/install-deps.sh --bench         also the peers `make bench`
#                                           compares with (QEMU)
#   scripts/install-deps.sh --testhost      also the emulated test host
#                                           (scripts/testhost): QEMU and
#                                           the kernel package pinned in
#                                           tests/hosts/x86_64.conf, which
#                                           is downloaded (apt-get download)
#                                           into ~/.cache/vmm/testhost/debs
#
# Idempotent and quiet when everything is present; runs `apt-get update`
# only when something is missing. Needs root (uses sudo if not root).
set -euo pipefail

usage() {
	echo "usage: $0 [--kernel-build] [--bench] [--testhost]" >&2
	exit 2
}

pkgs=(
	build-essential make gcc clang libclang-rt-dev clang-format pkg-config
	zlib1g-dev libelf-dev libcmocka-dev libslirp-dev
	python3 python3-pytest gdb
	busybox-static cpio e2fsprogs iproute2 iputils-ping kmod
)
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
testhosts=()
kernel_pkgs=(
	linux-source-6.1 flex bison bc libssl-dev libelf-dev
	xz-utils lz4 perl patch binutils kmod cpio dwarves
)

for arg in "$@"; do
	case "$arg" in
	--kernel-build) pkgs+=("${kernel_pkgs[@]}") ;;
	--bench) pkgs+=(qemu-system-x86) ;;
	--testhost) pkgs+=(qemu-system-x86) testhosts+=(x86_64) ;;
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

# The emulated hosts' kernels: KERNEL_PKG=KERNEL_VERSION from the conf,
# downloaded as a .deb (never installed on this machine).
debdir=${VMM_TESTHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm/testhost}/debs
debs=()
for arch in "${testhosts[@]}"; do
	conf=$(grep -E '^(KERNEL_PKG|KERNEL_VERSION|DEB_ARCH)=' \
		"$top/tests/hosts/$arch.conf")
	eval "$conf"
	deb="$debdir/${KERNEL_PKG}_${KERNEL_VERSION//:/%3a}_${DEB_ARCH}.deb"
	[[ -f "$deb" ]] || debs+=("$KERNEL_PKG=$KERNEL_VERSION")
done
[[ ${#missing[@]} -eq 0 && ${#debs[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "$0: need root to install: ${missing[*]} (not root, no sudo)" >&2
	exit 1
fi

updated=
apt_update() {
	[[ -n "$updated" ]] && return
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	updated=1
}
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "install-deps: installing ${missing[*]}" >&2
	apt_update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ ${#debs[@]} -gt 0 ]]; then
	echo "install-deps: downloading ${debs[*]} into $debdir" >&2
	mkdir -p "$debdir"
	# apt-get download works unprivileged once the lists are there.
	[[ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ]] || apt_update
	if ! (cd "$debdir" && apt-get download -qq "${debs[@]}" 2>"$debdir/.err"); then
		apt_update
		(cd "$debdir" && apt-get download -qq "${debs[@]}") || {
			echo "$0: cannot download ${debs[*]}: is the pin in" \
				"tests/hosts/*.conf still in Debian's archive?" >&2
			exit 1
		}
	fi
	rm -f "$debdir/.err"
fi
