#!/usr/bin/env bash
# Boot the default test image (scripts/build-test-images.sh) with the built
# vmm. Extra arguments go to `vmm boot`. VMM=path overrides the binary;
# VMM_IMAGES the image dir (as for build-test-images.sh).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${VMM_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm/test-images}
"$top/scripts/build-test-images.sh" >/dev/null
exec "${VMM:-$top/build/vmm}" boot --kernel "$dir/bzImage" --initrd "$dir/initramfs.cpio" "$@"
