#!/usr/bin/env bash
# Build the test images used by vmm's system tests:
#   bzImage, vmlinux (debug info stripped), config, initramfs.cpio (newc,
#   uncompressed) in ${VMM_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm/test-images}.
#
# Kernel: copied from the prebuilt images in $VMM_SHARED_IMAGES (default:
# <repo>/../shared/test-images) when their config and patches are identical
# to test-images/ and their SHA256SUMS verify; otherwise built from Debian's
# linux-source-6.1 (scripts/install-deps.sh --kernel-build). Both parts are
# rebuilt only when their inputs change. See test-images/README.md.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$top/test-images
out=${VMM_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm/test-images}
shared=${VMM_SHARED_IMAGES:-$top/../shared/test-images}
ksrc_tar=${VMM_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
busybox=${BUSYBOX:-/bin/busybox}

log() { echo "build-test-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

out=$(realpath -m "$out")
case "$out/" in "$(realpath "$top")"/*) die "output dir $out is inside the repo; set VMM_IMAGES" ;; esac
mkdir -p "$out"

# One build at a time per output dir (tests may call this in parallel).
exec 9>"$out/.lock"
flock 9

shopt -s nullglob
patches=("$src"/patches/*.patch)
shopt -u nullglob

# Hash of the kernel inputs: config and patches (names and contents).
kernel_hash=$(
	cd "$src"
	sha256sum config "${patches[@]#"$src"/}" | sha256sum | cut -d' ' -f1
)

# ---- kernel --------------------------------------------------------------

shared_matches() {
	[[ -f "$shared/config" && -f "$shared/SHA256SUMS" &&
		-f "$shared/bzImage" && -f "$shared/vmlinux" ]] || return 1
	cmp -s "$shared/config" "$src/config" || return 1
	diff -rq "$shared/patches" "$src/patches" >/dev/null 2>&1 || return 1
	(cd "$shared" && sha256sum --quiet --status -c SHA256SUMS) || return 1
}

install_file() { # src dst: copy atomically unless identical
	cmp -s "$1" "$2" && return 0
	cp "$1" "$2.tmp"
	chmod u+w "$2.tmp"
	mv -f "$2.tmp" "$2"
}

build_kernel() {
	# A fresh machine has no kernel source: install what the build needs.
	[[ -f "$ksrc_tar" ]] || "$top/scripts/install-deps.sh" --kernel-build
	[[ -f "$ksrc_tar" ]] ||
		die "$ksrc_tar missing: run scripts/install-deps.sh --kernel-build"
	local tree=$out/linux tree_stamp
	# The unpacked, patched tree is reused while the source and patches
	# are the same; config changes rebuild incrementally.
	tree_stamp=$( (stat -c '%s %Y' "$ksrc_tar" && cat /dev/null "${patches[@]}") |
		sha256sum | cut -d' ' -f1)
	if [[ "$(cat "$tree/.vmm-tree-stamp" 2>/dev/null)" != "$tree_stamp" ]]; then
		log "unpacking $ksrc_tar"
		rm -rf "$tree" "$tree.tmp"
		mkdir "$tree.tmp"
		tar -xf "$ksrc_tar" -C "$tree.tmp" --strip-components=1
		local p
		for p in "${patches[@]}"; do
			log "applying $(basename "$p")"
			patch -s -p1 -d "$tree.tmp" <"$p"
		done
		echo "$tree_stamp" >"$tree.tmp/.vmm-tree-stamp"
		mv "$tree.tmp" "$tree"
	fi
	cp "$src/config" "$tree/.config"
	log "building kernel in $tree (make -j$(nproc) bzImage vmlinux)"
	# Do not inherit a parent make's jobserver or the repo's ARCH.
	(
		unset MAKEFLAGS MFLAGS MAKELEVEL KBUILD_OUTPUT O
		make -s -C "$tree" ARCH=x86 olddefconfig
		make -s -C "$tree" ARCH=x86 -j"$(nproc)" bzImage vmlinux
	)
	cp "$tree/arch/x86/boot/bzImage" "$out/bzImage.tmp"
	objcopy --strip-debug "$tree/vmlinux" "$out/vmlinux.tmp"
	cp "$tree/.config" "$out/config.tmp"
	mv -f "$out/bzImage.tmp" "$out/bzImage"
	mv -f "$out/vmlinux.tmp" "$out/vmlinux"
	mv -f "$out/config.tmp" "$out/config"
}

if shared_matches; then
	install_file "$shared/bzImage" "$out/bzImage"
	install_file "$shared/vmlinux" "$out/vmlinux"
	install_file "$shared/config" "$out/config"
	echo "shared $kernel_hash" >"$out/kernel.stamp"
elif [[ -f "$out/bzImage" && -f "$out/vmlinux" &&
	"$(cat "$out/kernel.stamp" 2>/dev/null)" == *" $kernel_hash" ]]; then
	: # up to date (built, or copied earlier from identical inputs)
else
	log "no matching prebuilt kernel in $shared; building from source"
	rm -f "$out/kernel.stamp"
	build_kernel
	echo "built $kernel_hash" >"$out/kernel.stamp"
fi

# ---- initramfs -----------------------------------------------------------

[[ -x "$busybox" ]] || die "$busybox missing: run scripts/install-deps.sh"
readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter' &&
	die "$busybox is dynamically linked; install busybox-static"

initrd_hash=$(sha256sum "$src/init" "$busybox" "$top/scripts/gen-cpio.py" \
	"${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
if [[ ! -f "$out/initramfs.cpio" ||
	"$(cat "$out/initramfs.stamp" 2>/dev/null)" != "$initrd_hash" ]]; then
	list=$out/initramfs.list
	{
		for d in bin dev proc sys tmp root usr; do echo "dir /$d 755"; done
		echo "nod /dev/console 600 c 5 1"
		echo "nod /dev/null 666 c 1 3"
		echo "file /init $src/init 755"
		echo "file /bin/busybox $busybox 755"
		echo "slink /sbin bin 777"
		echo "slink /usr/bin ../bin 777"
		echo "slink /usr/sbin ../bin 777"
		"$busybox" --list | grep -vx busybox | sort -u |
			sed 's|.*|slink /bin/& busybox 777|'
	} >"$list"
	python3 "$top/scripts/gen-cpio.py" "$list" "$out/initramfs.cpio.tmp"
	mv -f "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
	echo "$initrd_hash" >"$out/initramfs.stamp"
fi

echo "$out/bzImage"
echo "$out/vmlinux"
echo "$out/initramfs.cpio"
