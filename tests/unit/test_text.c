/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_text.c - vhswctl's text output (switch/cli/text.h): tables sized to
 * their content, the generic rendering of any JSON reply (sections,
 * tables, lists, no JSON syntax left), feature masks decoded by name,
 * wrapping, and control characters from untrusted strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../switch/cli/text.h"

static char out[65536];

/* text_json() of the JSON text 'in', into 'out'. */
static const char *
render(const char *in)
{
	json_error_t jerr;
	json_t *v = json_loads(in, JSON_DECODE_ANY, &jerr);
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_non_null(v);
	assert_non_null(f);
	text_json(f, 0, v);
	fclose(f);
	json_decref(v);
	return out;
}

static void
test_object_sections(void **state)
{
	assert_string_equal(
		render("{\"name\": \"m1\", \"src\": [\"c1\", \"c2\"],"
		       " \"stats\": {\"packets\": 5, \"bytes\": 320},"
		       " \"sessions\": [{\"port\": \"c1\", \"dir\": \"rx\","
		       " \"frames\": 12}, {\"port\": \"cni-0123456789abcdef\","
		       " \"dir\": \"both\", \"frames\": 3}],"
		       " \"empty\": [], \"none\": null, \"obj\": {},"
		       " \"nested\": {\"a\": {\"b\": 1}}}"),
		"name   m1\n"
		"src    c1, c2\n"
		"empty  none\n"
		"none   -\n"
		"obj    -\n"
		"\n"
		"stats:\n"
		"  packets    5\n"
		"  bytes    320\n"
		"\n"
		"sessions:\n"
		"  PORT                  DIR   FRAMES\n"
		"  c1                    rx        12\n"
		"  cni-0123456789abcdef  both       3\n"
		"\n"
		"nested:\n"
		"  a:\n"
		"    b  1\n");
}

static void
test_arrays(void **state)
{
	/* Objects with different keys: the union, "-" where one lacks it. */
	assert_string_equal(render("[{\"a\": 1}, {\"b\": \"x\", \"a\": 22}]"),
		" A  B\n"
		" 1  -\n"
		"22  x\n");
	/* Scalars one per line; mixed: a section per element. */
	assert_string_equal(render("[\"c1\", 2]"), "c1\n2\n");
	assert_string_equal(render("[1, {\"a\": 2}]"), "1\n1:\n  a  2\n");
	assert_string_equal(render("[]"), "none\n");
}

/* No JSON syntax survives, however deep or mixed the nesting. */
static void
test_no_json_syntax(void **state)
{
	const char *s = render(
		"{\"a\": [{\"b\": {\"c\": [1, [2, 3], {\"d\": null}]}}, 5],"
		" \"e\": [[1, 2], {\"f\": true}], \"g\": [{\"h\": {\"i\": 1},"
		" \"j\": [{\"k\": 2}]}], \"l\": {\"m\": []}}");

	assert_null(strpbrk(s, "{}[]\""));
	assert_non_null(strstr(s, "i=1"));
	assert_non_null(strstr(s, "(k=2)"));
}

static void
test_features(void **state)
{
	assert_string_equal(render("{\"features\": \"0x100008000\"}"),
		"features  0x100008000\n"
		"          VIRTIO_NET_F_MRG_RXBUF VIRTIO_F_VERSION_1\n");
	assert_string_equal(render("{\"protocol_features\": \"0x9\"}"),
		"protocol_features  0x9\n"
		"                   VHOST_USER_PROTOCOL_F_MQ "
		"VHOST_USER_PROTOCOL_F_REPLY_ACK\n");
	/* Nothing to decode: the value alone. */
	assert_string_equal(
		render("{\"features\": \"0x0\"}"), "features  0x0\n");
	assert_string_equal(
		render("{\"features\": \"0xzz\"}"), "features  0xzz\n");
	assert_string_equal(render("{\"features\": 7}"), "features  7\n");
	/* An unnamed bit by number. */
	assert_non_null(strstr(render("{\"features\": \"0x10\"}"), "bit 4"));
}

static void
test_wrap(void **state)
{
	const char *s = render(
		"{\"k\": \"one two three four five six seven eight nine ten "
		"eleven twelve thirteen fourteen fifteen sixteen seventeen\","
		" \"path\": \"/run/vhsw/a-very-long-socket-path-that-has-no-"
		"spaces-in-it-at-all-and-is-longer-than-the-line.sock\"}");
	const char *line, *nl;

	/* Every line within 79 columns but the unbreakable path; wrapped
	 * lines continue under the value column. */
	for (line = s; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		if (strncmp(line, "path", 4) != 0)
			assert_true(nl - line <= TEXT_WIDTH);
		if (line != s && strncmp(line, "path", 4) != 0)
			assert_memory_equal(line, "      ", 6);
	}
	assert_non_null(strstr(s, " seventeen\n"));
	assert_non_null(strstr(s, "longer-than-the-line.sock\n"));
}

/* A peer's or a file's bytes never break the layout. */
static void
test_control_chars(void **state)
{
	assert_string_equal(render("{\"err\": \"a\\nb\\tc\\u001b[2J\"}"),
		"err  a b c [2J\n");
}

static void
test_table_api(void **state)
{
	struct text_table *t = text_table_new();
	FILE *f = fmemopen(out, sizeof(out), "w");

	text_table_col(t, "NAME", TEXT_LEFT);
	text_table_col(t, "N", TEXT_RIGHT);
	text_table_col(t, "WHERE", TEXT_LEFT);
	text_table_add(t, "cni-0123456789abcdef");
	text_table_add(t, "%d", 7);
	text_table_add(t, "/run/vhsw/x.sock");
	text_table_add(t, "c1");
	text_table_add(t, "%d", 1234);
	text_table_add(t, "-");
	assert_int_equal(text_table_rows(t), 2);
	text_table_print(t, f, 2);
	fclose(f);
	text_table_free(t);
	text_table_free(NULL);
	assert_string_equal(out,
		"  NAME                     N  WHERE\n"
		"  cni-0123456789abcdef     7  /run/vhsw/x.sock\n"
		"  c1                    1234  -\n");
}

static void
test_value(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"null", "-"},
		{"true", "true"},
		{"1.5", "1.5"},
		{"-3", "-3"},
		{"{}", "-"},
		{"[]", "none"},
		{"[\"a\", 2]", "a, 2"},
		{"{\"a\": 1, \"b\": {\"c\": 2}}", "a=1 b=(c=2)"},
	};
	json_error_t jerr;
	size_t i;
	json_t *v;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = json_loads(cases[i].in, JSON_DECODE_ANY, &jerr);
		assert_non_null(v);
		s = text_value(v);
		assert_string_equal(s, cases[i].want);
		free(s);
		json_decref(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_sections),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_no_json_syntax),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_table_api),
		cmocka_unit_test(test_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
