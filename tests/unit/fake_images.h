/* SPDX-License-Identifier: MIT */
/* The real test kernel images, where the system tests find them. */
#ifndef TESTS_UNIT_FAKE_IMAGES_H
#define TESTS_UNIT_FAKE_IMAGES_H

#include <stddef.h>

/*
 * Find the test image @name ("bzImage", "vmlinux"). With @env (such as
 * "VMM_TEST_BZIMAGE") set and not empty, only the path it names is tried.
 * Otherwise, in order: $VMM_IMAGES if set (and not empty), else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/vmm/test-images (the rule of
 * tests/system/conftest.py; scripts/build-test-images.sh builds them
 * there), then ${VMM_SHARED_IMAGES:-../shared/test-images} (beside the
 * checkout, as tests run from its top; build-test-images.sh copies them
 * from there). Returns @buf holding the first readable path (printed),
 * or NULL after printing every place it looked, for the caller to skip().
 */
const char *test_image_find(const char *name, const char *env, char *buf,
			    size_t len);

#endif
