/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.c - the command table and what reads it (see ctl.h): the command
 * line parser, the parameter checks and the usage lines.
 *
 * Built into libvhswctl, which vhswd, vhswctl and vhsw-cni link; it needs
 * jansson only, not DPDK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* clang-format off */
const struct ctl_cmd ctl_cmds[CTL_CMD_COUNT] = {
#define CTL_CMD_ENTRY(id, action, m, h, list)                           \
	[CTL_CMD_##id] = {.method = m, .help = h,                       \
		.params = (const struct ctl_param[]){list {NULL}}},
	CTL_COMMANDS(CTL_CMD_ENTRY)
#undef CTL_CMD_ENTRY
};
/* clang-format on */

const struct ctl_cmd *
ctl_cmd_find(const char *method)
{
	int i;

	for (i = 0; i < CTL_CMD_COUNT; i++)
		if (strcmp(ctl_cmds[i].method, method) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* The first entry of 'cmd' for 'key', or NULL. */
static const struct ctl_param *
param_find(const struct ctl_cmd *cmd, const char *key)
{
	const struct ctl_param *p;

	for (p = cmd->params; p->key != NULL; p++)
		if (strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

/* The n-th positional entry, or NULL. */
static const struct ctl_param *
param_positional(const struct ctl_cmd *cmd, int n)
{
	const struct ctl_param *p;

	for (p = cmd->params; p->key != NULL; p++)
		if (p->option == NULL && n-- == 0)
			return p;
	return NULL;
}

static const char *const type_names[] = {
	[CTL_T_STRING] = "a string",
	[CTL_T_INT] = "an integer",
	[CTL_T_BOOL] = "true or false",
};

static bool
type_ok(enum ctl_type t, const json_t *v)
{
	switch (t) {
	case CTL_T_STRING:
		return json_is_string(v);
	case CTL_T_INT:
		return json_is_integer(v);
	case CTL_T_BOOL:
		return json_is_boolean(v);
	}
	return false;
}

int
ctl_check_params(const struct ctl_cmd *cmd, const json_t *params, char *err,
	size_t errlen)
{
	const struct ctl_param *p;
	const char *key;
	json_t *v;

	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return -1;
	}
	json_object_foreach((json_t *)params, key, v)
	{
		p = param_find(cmd, key);
		if (p == NULL) {
			snprintf(err, errlen, "unknown parameter '%s'", key);
			return -1;
		}
		if (json_is_null(v) && !p->required)
			continue;
		if (!type_ok(p->type, v)) {
			snprintf(err, errlen, "parameter '%s' must be %s", key,
				type_names[p->type]);
			return -1;
		}
	}
	for (p = cmd->params; p->key != NULL; p++) {
		if (p->required && p->kind == NULL &&
			json_object_get(params, p->key) == NULL) {
			snprintf(err, errlen, "missing parameter '%s'", p->key);
			return -1;
		}
	}
	return 0;
}

int
ctl_check_kind(const struct ctl_cmd *cmd, const json_t *params,
	const char *kind, char *err, size_t errlen)
{
	const struct ctl_param *p;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)params, key, v)
	{
		p = param_find(cmd, key);
		if (p != NULL && p->kind != NULL &&
			strcmp(p->kind, kind) != 0) {
			snprintf(err, errlen, "'%s' applies to %s ports only",
				key, p->kind);
			return -1;
		}
	}
	for (p = cmd->params; p->key != NULL; p++) {
		if (p->required && p->kind != NULL &&
			strcmp(p->kind, kind) == 0 &&
			json_object_get(params, p->key) == NULL) {
			snprintf(err, errlen, "a %s port needs '%s'", kind,
				p->key);
			return -1;
		}
	}
	return 0;
}

const char *
ctl_cmd_kind(const struct ctl_cmd *cmd, int i)
{
	const struct ctl_param *p, *q;

	for (p = cmd->params; p->key != NULL; p++) {
		if (p->kind == NULL)
			continue;
		for (q = cmd->params; q != p; q++)
			if (q->kind != NULL && strcmp(q->kind, p->kind) == 0)
				break;
		if (q == p && i-- == 0)
			return p->kind;
	}
	return NULL;
}

const char *
ctl_usage(const struct ctl_cmd *cmd, const char *kind, char *buf, size_t len)
{
	const struct ctl_param *p;
	size_t n = 0;
	int k;

	buf[0] = '\0';
	for (p = cmd->params; p->key != NULL && n < len; p++) {
		const char *sep = n ? " " : "";

		if (kind != NULL && p->kind != NULL && strcmp(p->kind, kind))
			continue;
		if (p->selects_kind && kind != NULL)
			k = snprintf(buf + n, len - n, "%s%s", sep, kind);
		else if (p->option == NULL)
			k = snprintf(buf + n, len - n,
				p->required && (p->kind == NULL || kind != NULL)
					? "%s%s"
					: "%s[%s]",
				sep, p->meta);
		else if (p->meta != NULL)
			k = snprintf(buf + n, len - n,
				p->required ? "%s%s %s" : "%s[%s %s]", sep,
				p->option, p->meta);
		else
			k = snprintf(
				buf + n, len - n, "%s[%s]", sep, p->option);
		if (k < 0)
			break;
		n += (size_t)k;
	}
	return buf;
}

int
ctl_method_words(const char *method)
{
	int n = 1;

	for (; *method; method++)
		n += *method == '/';
	return n;
}

bool
ctl_words_match(const char *method, int n, char **argv)
{
	const char *p = method;
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		len = strcspn(p, "/");
		if (strlen(argv[i]) != len || strncmp(argv[i], p, len) != 0)
			return false;
		p += len + (p[len] == '/');
	}
	return true;
}

const struct ctl_cmd *
ctl_find_cmd(int argc, char **argv, int *nwords)
{
	const struct ctl_cmd *cmd = NULL;
	int i, nw;

	*nwords = 0;
	for (i = 0; i < CTL_CMD_COUNT; i++) {
		nw = ctl_method_words(ctl_cmds[i].method);
		if (nw > *nwords && nw <= argc &&
			ctl_words_match(ctl_cmds[i].method, nw, argv)) {
			*nwords = nw;
			cmd = &ctl_cmds[i];
		}
	}
	return cmd;
}

/* Sets params[p->key] from the text 'val'.  0 or -1. */
static int
set_value(json_t *params, const struct ctl_param *p, const char *val, char *err,
	size_t errlen)
{
	char *end;
	long long v;

	if (p->type != CTL_T_INT)
		return json_object_set_new(params, p->key, json_string(val));
	errno = 0;
	v = strtoll(val, &end, 0);
	if (errno != 0 || end == val || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' is not a number", p->key, val);
		return -1;
	}
	return json_object_set_new(params, p->key, json_integer(v));
}

/* Applies option argv[*i] (and maybe its value).  0 or -1. */
static int
parse_option(const struct ctl_cmd *cmd, int argc, char **argv, int *i,
	json_t *params, char *err, size_t errlen)
{
	const char *arg = argv[*i];
	size_t flen = strcspn(arg, "=");
	const struct ctl_param *p;

	for (p = cmd->params; p->key != NULL; p++)
		if (p->option != NULL && strlen(p->option) == flen &&
			strncmp(p->option, arg, flen) == 0)
			break;
	if (p->key == NULL) {
		snprintf(err, errlen, "unknown option %.*s", (int)flen, arg);
		return -1;
	}
	if (p->meta == NULL) { /* a flag */
		if (arg[flen] == '=') {
			snprintf(err, errlen, "option %s takes no value",
				p->option);
			return -1;
		}
		return json_object_set_new(params, p->key,
			p->value ? json_string(p->value)
				 : json_boolean(!p->off));
	}
	if (arg[flen] == '=')
		return set_value(params, p, arg + flen + 1, err, errlen);
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option %s needs a value", arg);
		return -1;
	}
	(*i)++;
	return set_value(params, p, argv[*i], err, errlen);
}

/* A one-dash option of the table ("-w"), with or without "=VALUE". */
static bool
short_option(const struct ctl_cmd *cmd, const char *arg)
{
	size_t flen = strcspn(arg, "=");
	const struct ctl_param *p;

	if (arg[0] != '-' || arg[1] == '-' || arg[1] == '\0')
		return false;
	for (p = cmd->params; p->key != NULL; p++)
		if (p->option != NULL && strlen(p->option) == flen &&
			strncmp(p->option, arg, flen) == 0)
			return true;
	return false;
}

const struct ctl_cmd *
ctl_parse_argv(
	int argc, char **argv, json_t **params_out, char *err, size_t errlen)
{
	const struct ctl_cmd *cmd;
	const struct ctl_param *p;
	int best, i, pos = 0;
	bool positional = false;
	json_t *params;

	*params_out = NULL;
	if (argc == 0) {
		snprintf(err, errlen, "no command given");
		return NULL;
	}
	cmd = ctl_find_cmd(argc, argv, &best);
	if (cmd == NULL) {
		snprintf(err, errlen, "unknown command '%s%s%s'", argv[0],
			argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return NULL;
	}
	params = json_object();
	for (i = best; i < argc; i++) {
		if (!positional && strcmp(argv[i], "--") == 0) {
			positional = true; /* "--": no options after it */
			continue;
		}
		if (!positional &&
			((strncmp(argv[i], "--", 2) == 0 &&
				 argv[i][2] != '\0') ||
				short_option(cmd, argv[i]))) {
			if (parse_option(cmd, argc, argv, &i, params, err,
				    errlen) != 0)
				goto usage;
			continue;
		}
		p = param_positional(cmd, pos++);
		if (p == NULL) {
			snprintf(err, errlen, "unexpected argument '%s'",
				argv[i]);
			goto usage;
		}
		if (set_value(params, p, argv[i], err, errlen) != 0)
			goto usage;
	}
	/* Arguments every kind needs; a kind's own are checked by vhswd. */
	for (; (p = param_positional(cmd, pos)) != NULL; pos++) {
		if (p->required && p->kind == NULL) {
			snprintf(err, errlen, "missing %s", p->key);
			goto usage;
		}
	}
	/* Options every kind needs (mirror add --src, --dst). */
	for (p = cmd->params; p->key != NULL; p++) {
		if (p->option != NULL && p->required && p->kind == NULL &&
			json_object_get(params, p->key) == NULL) {
			snprintf(err, errlen, "missing %s %s", p->option,
				p->meta);
			goto usage;
		}
	}
	*params_out = params;
	return cmd;
usage:
	json_decref(params);
	return NULL;
}
