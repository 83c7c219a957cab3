// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/fake_images.h"

#define SHARED_IMAGES "../shared/test-images"

static const char *env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/*
 * What the system tests boot: conftest.py's IMAGES, with the shell's
 * ${VAR:-default} of scripts/build-test-images.sh (empty means unset).
 */
static void system_images_dir(char *buf, size_t len)
{
	const char *dir = env_set("VMM_IMAGES");
	const char *cache = env_set("XDG_CACHE_HOME");
	const char *home = env_set("HOME");

	if (dir) {
		snprintf(buf, len, "%s", dir);
		return;
	}
	if (cache) {
		snprintf(buf, len, "%s/vmm/test-images", cache);
		return;
	}
	if (!home) {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : "";
	}
	snprintf(buf, len, "%s/.cache/vmm/test-images", home);
}

const char *test_image_find(const char *name, const char *env, char *buf,
			    size_t len)
{
	const char *override = env ? env_set(env) : NULL;
	const char *shared;
	char dirs[2][4096];
	char looked[2 * 4096 + 64] = "";
	size_t off = 0;
	int n = 0;

	if (override) {
		snprintf(buf, len, "%s", override);
		if (!access(buf, R_OK)) {
			print_message("test %s: %s\n", name, buf);
			return buf;
		}
		print_message("no test %s at %s (from $%s)\n", name, buf, env);
		return NULL;
	}
	system_images_dir(dirs[n++], sizeof(dirs[0]));
	shared = env_set("VMM_SHARED_IMAGES");
	snprintf(dirs[n++], sizeof(dirs[0]), "%s",
		 shared ? shared : SHARED_IMAGES);
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(buf, len, "%s/%s", dirs[i], name) < len &&
		    !access(buf, R_OK)) {
			print_message("test %s: %s\n", name, buf);
			return buf;
		}
		if (off < sizeof(looked))
			off += snprintf(looked + off, sizeof(looked) - off,
					"%s%s", i ? ", " : "", buf);
	}
	print_message("no test %s: looked at %s "
		      "(scripts/build-test-images.sh builds it)\n",
		      name, looked);
	return NULL;
}
