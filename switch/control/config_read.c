/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_read.c - reading the JSON startup configuration (--config) and
 * checking its syntax: the top-level, "fdb" and "mirrors" keys, their
 * types and ranges.  What the ports and static entries mean is checked when
 * config_apply() (config.c) runs them through the actions.
 *
 * Needs jansson only (DPDK headers for the limits, no DPDK code): the
 * config fuzz target links it on its own.
 *
 * Thread-safety: any thread; no state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_read.h"
#include "fdb.h"

static const char *const top_keys[] = {
	"ports", "uplink", "fdb", "dataplane", "mirrors", NULL};
static const char *const dataplane_keys[] = {"poll_mode", NULL};
static const char *const fdb_keys[] = {
	"aging", "limit", "move_limit", "static", NULL};
static const char *const mirror_keys[] = {
	"name", "src", "dst", "direction", NULL};

static int
check_keys(json_t *obj, const char *const *allowed, const char *path,
	const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int i;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(err, errlen, "%s: %s: unknown key '%s'", path,
				where, key);
			return -1;
		}
	}
	return 0;
}

/*
 * "mirrors": [{"name": "m1", "src": ["c1", "c2"], "dst": "c3",
 * "direction": "both"}]: the shape only; mirror/add checks the values.
 * 0, or -1 with 'err' set.
 */
static int
check_mirrors(json_t *a, const char *path, char *err, size_t errlen)
{
	static const char *const strings[] = {"name", "dst", "direction"};
	char where[64];
	json_t *m, *v, *src;
	size_t i, j, k;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "%s: mirrors: must be an array", path);
		return -1;
	}
	json_array_foreach(a, i, m)
	{
		snprintf(where, sizeof(where), "mirrors[%zu]", i);
		if (!json_is_object(m)) {
			snprintf(err, errlen,
				"%s: %s: must be an object like {\"name\": "
				"\"m1\", \"src\": [\"c1\"], \"dst\": "
				"\"c2\"}",
				path, where);
			return -1;
		}
		if (check_keys(m, mirror_keys, path, where, err, errlen) != 0)
			return -1;
		for (k = 0; k < sizeof(strings) / sizeof(strings[0]); k++) {
			v = json_object_get(m, strings[k]);
			if (v == NULL && k == 2)
				continue; /* the direction: both */
			if (!json_is_string(v)) {
				snprintf(err, errlen,
					"%s: %s.%s: must be a string", path,
					where, strings[k]);
				return -1;
			}
		}
		src = json_object_get(m, "src");
		if (!json_is_array(src) || json_array_size(src) == 0) {
			snprintf(err, errlen,
				"%s: %s.src: must be an array of port names",
				path, where);
			return -1;
		}
		json_array_foreach(src, j, v)
		{
			if (!json_is_string(v)) {
				snprintf(err, errlen,
					"%s: %s.src[%zu]: must be a port name",
					path, where, j);
				return -1;
			}
		}
	}
	return 0;
}

/* The syntax checks of config_read()/config_parse() on a loaded document. */
static json_t *
config_check__(json_t *cfg, const char *path, json_error_t *jerr, char *err,
	size_t errlen)
{
	json_t *fdb, *v;

	if (cfg == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr->line,
			jerr->column, jerr->text);
		return NULL;
	}
	if (!json_is_object(cfg)) {
		snprintf(err, errlen,
			"%s: the configuration must be a JSON object", path);
		goto fail;
	}
	if (check_keys(cfg, top_keys, path, "top level", err, errlen) != 0)
		goto fail;
	v = json_object_get(cfg, "ports");
	if (v != NULL && !json_is_array(v)) {
		snprintf(err, errlen, "%s: ports: must be an array", path);
		goto fail;
	}
	v = json_object_get(cfg, "uplink");
	if (v != NULL && !json_is_object(v) && !json_is_null(v)) {
		snprintf(err, errlen,
			"%s: uplink: must be an object like {\"devargs\": "
			"\"net_af_packet0,iface=eth1\"}",
			path);
		goto fail;
	}
	v = json_object_get(cfg, "dataplane");
	if (v != NULL &&
		(!json_is_object(v) ||
			check_keys(v, dataplane_keys, path, "dataplane", err,
				errlen) != 0)) {
		if (!json_is_object(v))
			snprintf(err, errlen,
				"%s: dataplane: must be an object like "
				"{\"poll_mode\": \"adaptive\"}",
				path);
		goto fail;
	}
	v = json_object_get(cfg, "mirrors");
	if (v != NULL && check_mirrors(v, path, err, errlen) != 0)
		goto fail;
	fdb = json_object_get(cfg, "fdb");
	if (fdb != NULL) {
		if (!json_is_object(fdb)) {
			snprintf(err, errlen, "%s: fdb: must be an object",
				path);
			goto fail;
		}
		if (check_keys(fdb, fdb_keys, path, "fdb", err, errlen) != 0)
			goto fail;
		v = json_object_get(fdb, "limit");
		if (v != NULL &&
			(!json_is_integer(v) || json_integer_value(v) < 1 ||
				json_integer_value(v) > FDB_MAX_LIMIT)) {
			snprintf(err, errlen,
				"%s: fdb.limit: must be an integer 1..%u", path,
				FDB_MAX_LIMIT);
			goto fail;
		}
		v = json_object_get(fdb, "static");
		if (v != NULL && !json_is_array(v)) {
			snprintf(err, errlen,
				"%s: fdb.static: must be an array", path);
			goto fail;
		}
	}
	return cfg;
fail:
	json_decref(cfg);
	return NULL;
}

/*
 * config_check__(), with the error made one line: it may quote the file's
 * keys or bytes, and a key may hold a newline or other control characters.
 */
static json_t *
config_check(json_t *cfg, const char *path, json_error_t *jerr, char *err,
	size_t errlen)
{
	char *c;

	cfg = config_check__(cfg, path, jerr, err, errlen);
	if (cfg == NULL)
		for (c = err; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	return cfg;
}

json_t *
config_read(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *cfg;

	cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL && jerr.line < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			strerror(errno));
		return NULL;
	}
	return config_check(cfg, path, &jerr, err, errlen);
}

json_t *
config_parse(
	const char *buf, size_t len, const char *name, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *cfg;

	cfg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL && jerr.line < 0)
		jerr.line = jerr.column = 0;
	return config_check(cfg, name, &jerr, err, errlen);
}

const char *
config_uplink_devargs(json_t *cfg)
{
	return json_string_value(
		json_object_get(json_object_get(cfg, "uplink"), "devargs"));
}

uint32_t
config_fdb_limit(json_t *cfg)
{
	json_t *v = json_object_get(json_object_get(cfg, "fdb"), "limit");

	return json_is_integer(v) ? (uint32_t)json_integer_value(v)
				  : FDB_DEFAULT_LIMIT;
}
