/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_read.h - reading a JSON configuration file (--config) and checking
 * its shape: the top-level keys, "ports" an array of objects, "uplink" and
 * "fdb" objects.  The values are checked when config.c applies the file
 * through the actions.  No DPDK: the fuzz target fuzz_config links it
 * alone.
 *
 * Thread-safety: no state; any thread.
 */
#ifndef VHSW_CONFIG_READ_H
#define VHSW_CONFIG_READ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Reads and checks the syntax of a config file.  NULL with 'err' set. */
json_t *config_read(const char *path, char *err, size_t errlen);
/* The same for a buffer; 'name' stands for the file in messages. */
json_t *config_parse(const char *buf, size_t len, const char *name, char *err,
	size_t errlen);
/* The uplink devargs a config names, or NULL. */
const char *config_uplink_devargs(json_t *cfg);
/* The learned-entry limit a config asks for (for sizing the FDB). */
uint32_t config_fdb_limit(json_t *cfg);

#endif /* VHSW_CONFIG_READ_H */
