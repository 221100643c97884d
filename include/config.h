/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.h - applying a configuration (--config) and writing the running
 * one (`config save`), in the shape of CONTRACT.md.  Loading runs the same
 * actions as the management commands (actions.h); each port kind saves
 * its own keys (port_class.save), so every saved file loads again.
 *
 * Thread-safety: control thread only.
 */
#ifndef VHSW_CONFIG_H
#define VHSW_CONFIG_H

#include <stddef.h>

#include <jansson.h>

#include "config_read.h"

struct vhsw;

/* Applies a config read by config_read().  0 or -1 with 'err' set. */
int config_apply(struct vhsw *sw, const char *path, json_t *cfg, char *err,
	size_t errlen);
/* The running configuration. */
json_t *config_dump(const struct vhsw *sw);
/* Writes config_dump() to 'path' atomically.  0 or -1 with 'err' set. */
int config_save(
	const struct vhsw *sw, const char *path, char *err, size_t errlen);

#endif /* VHSW_CONFIG_H */
