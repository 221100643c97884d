/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_state.c - the state file's pure parts (state.h): reading it
 * (missing, valid, corrupt with a kept copy, not a regular file) and
 * taking out what --config and the command line name (state_merge).
 * Applying and writing are tested end to end in
 * tests/integration/test_state.sh.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "state.h"

struct env {
	char dir[64];
	char path[PATH_MAX];
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/vhsw-ut-state.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/" STATE_FILE, e->dir);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The number of files in 'dir' whose name starts with 'prefix'. */
static int
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_load_missing(void **state)
{
	struct env *e = *state;
	json_t *s = (json_t *)1;
	char err[512];

	assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), 0);
	assert_null(s);
	/* A directory that does not exist yet: the first start too. */
	strcat(e->dir, "/none");
	assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), 0);
	assert_null(s);
	e->dir[strlen(e->dir) - 5] = '\0';
}

static void
test_load_valid(void **state)
{
	struct env *e = *state;
	char err[512];
	json_t *s;

	write_file(e->path,
		"{\"ports\": [{\"name\": \"a\", \"type\": \"vhost-user\", "
		"\"socket\": \"/run/vhsw/a.sock\"}], \"dataplane\": "
		"{\"poll_mode\": \"busy\"}}");
	assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), 0);
	assert_non_null(s);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(s, "dataplane"), "poll_mode")),
		"busy");
	json_decref(s);
	assert_int_equal(count_files(e->dir, STATE_FILE ".corrupt-"), 0);
}

static void
test_load_corrupt(void **state)
{
	static const char *const bad[] = {
		"{\"ports\": [",                    /* torn */
		"{\"ports\": [], \"surprise\": 1}", /* unknown key */
		"{\"fdb\": {\"limit\": -3}}",       /* out of range */
		"\"just a string\"",                /* not an object */
		"",                                 /* empty */
		"{\"ports\": 1, \"ports\": 2}",     /* duplicate key */
	};
	struct env *e = *state;
	char err[1024];
	json_t *s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(e->path, bad[i]);
		s = (json_t *)1;
		assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), -1);
		assert_null(s);
		assert_non_null(strstr(err, "state file is corrupt"));
		assert_non_null(strstr(err, e->path));
		assert_non_null(strstr(err, "a copy is kept as"));
		/* The file itself stays for the operator. */
		assert_int_equal(access(e->path, F_OK), 0);
	}
	/* One copy each, even within one second. */
	assert_int_equal(count_files(e->dir, STATE_FILE ".corrupt-"), (int)i);
}

static void
test_load_not_a_file(void **state)
{
	struct env *e = *state;
	char err[1024];
	json_t *s;

	assert_int_equal(mkdir(e->path, 0700), 0);
	assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(e->path), 0);
	/* A symbolic link is not followed. */
	assert_int_equal(symlink("/etc/hostname", e->path), 0);
	assert_int_equal(state_load(e->dir, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	assert_non_null(j);
	return j;
}

/* 'state' after state_merge() with 'cfg' equals 'want'. */
static void
merge_is(const char *state, const char *cfg, bool uplink, bool poll,
	const char *want)
{
	json_t *s = parse(state), *c = cfg ? parse(cfg) : NULL;
	json_t *w = parse(want);
	char *got;

	state_merge(s, c, uplink, poll);
	if (!json_equal(s, w)) {
		got = json_dumps(s, JSON_SORT_KEYS);
		fail_msg("merge gave %s, want %s", got, want);
	}
	json_decref(s);
	json_decref(c);
	json_decref(w);
}

static void
test_merge(void **state)
{
	const char *st =
		"{\"ports\": [{\"name\": \"a\", \"socket\": \"/s/a\"}, "
		"{\"name\": \"b\", \"socket\": \"/s/b\"}, {\"name\": \"k\", "
		"\"type\": \"kernel\"}], \"uplink\": {\"devargs\": \"x\"}, "
		"\"dataplane\": {\"poll_mode\": \"busy\"}, \"fdb\": "
		"{\"aging\": "
		"10, \"limit\": 20, \"static\": [{\"mac\": "
		"\"52:54:00:00:00:01\", \"port\": \"a\", \"vlan\": 0}, "
		"{\"mac\": \"52:54:00:00:00:02\", \"port\": \"b\", \"vlan\": "
		"5}]}}";

	(void)state;
	/* Nothing named: the state as it is. */
	merge_is(st, NULL, false, false, st);
	merge_is(st, "{}", false, false, st);
	/* A port of the same name, and one on the same socket. */
	merge_is(st,
		"{\"ports\": [{\"name\": \"a\"}, {\"name\": \"z\", "
		"\"socket\": \"/s/b\"}]}",
		false, false,
		"{\"ports\": [{\"name\": \"k\", \"type\": \"kernel\"}], "
		"\"uplink\": {\"devargs\": \"x\"}, \"dataplane\": "
		"{\"poll_mode\": \"busy\"}, \"fdb\": {\"aging\": 10, "
		"\"limit\": 20, \"static\": [{\"mac\": \"52:54:00:00:00:01\", "
		"\"port\": \"a\", \"vlan\": 0}, {\"mac\": "
		"\"52:54:00:00:00:02\", \"port\": \"b\", \"vlan\": 5}]}}");
	/* --uplink and --poll-mode; the file's uplink and poll mode. */
	merge_is(st, NULL, true, true,
		"{\"ports\": [{\"name\": \"a\", \"socket\": \"/s/a\"}, "
		"{\"name\": \"b\", \"socket\": \"/s/b\"}, {\"name\": \"k\", "
		"\"type\": \"kernel\"}], \"fdb\": {\"aging\": 10, \"limit\": "
		"20, \"static\": [{\"mac\": \"52:54:00:00:00:01\", \"port\": "
		"\"a\", \"vlan\": 0}, {\"mac\": \"52:54:00:00:00:02\", "
		"\"port\": \"b\", \"vlan\": 5}]}}");
	merge_is(st,
		"{\"uplink\": {\"devargs\": \"y\"}, \"dataplane\": "
		"{\"poll_mode\": \"adaptive\"}}",
		false, false,
		"{\"ports\": [{\"name\": \"a\", \"socket\": \"/s/a\"}, "
		"{\"name\": \"b\", \"socket\": \"/s/b\"}, {\"name\": \"k\", "
		"\"type\": \"kernel\"}], \"fdb\": {\"aging\": 10, \"limit\": "
		"20, \"static\": [{\"mac\": \"52:54:00:00:00:01\", \"port\": "
		"\"a\", \"vlan\": 0}, {\"mac\": \"52:54:00:00:00:02\", "
		"\"port\": \"b\", \"vlan\": 5}]}}");
	/* FDB settings and static entries (same MAC, any case, and VLAN). */
	merge_is(st,
		"{\"fdb\": {\"aging\": 99, \"static\": [{\"mac\": "
		"\"52:54:00:00:00:0\", \"vlan\": 0}, {\"mac\": "
		"\"52:54:00:00:00:02\", \"vlan\": 5}, {\"mac\": "
		"\"52:54:00:00:00:01\", \"vlan\": 7}]}}",
		false, false,
		"{\"ports\": [{\"name\": \"a\", \"socket\": \"/s/a\"}, "
		"{\"name\": \"b\", \"socket\": \"/s/b\"}, {\"name\": \"k\", "
		"\"type\": \"kernel\"}], \"uplink\": {\"devargs\": \"x\"}, "
		"\"dataplane\": {\"poll_mode\": \"busy\"}, \"fdb\": "
		"{\"limit\": 20, \"static\": [{\"mac\": "
		"\"52:54:00:00:00:01\", \"port\": \"a\", \"vlan\": 0}]}}");
	/* Mirrors of the same name. */
	merge_is("{\"mirrors\": [{\"name\": \"m1\", \"dst\": \"a\"}, "
		 "{\"name\": \"m2\", \"dst\": \"b\"}]}",
		"{\"mirrors\": [{\"name\": \"m2\", \"dst\": \"k\"}, "
		"{\"name\": \"m3\"}]}",
		false, false,
		"{\"mirrors\": [{\"name\": \"m1\", \"dst\": \"a\"}]}");
	/* A state that is no object, and odd shapes in --config. */
	merge_is("[]", "{\"ports\": 3}", true, true, "[]");
	merge_is(st, "{\"ports\": 3, \"fdb\": []}", false, false, st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_load_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_load_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_load_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_load_not_a_file, setup, teardown),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
