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

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config_read.h"

struct vhsw;

/* The parts of a configuration, in the order they must be applied. */
#define CONFIG_PART_PORTS 1u   /* the uplink, the ports, the poll mode */
#define CONFIG_PART_FDB 2u     /* FDB settings and static entries */
#define CONFIG_PART_MIRRORS 4u /* mirrors (their ports exist by then) */

/* How config_apply() treats an entry the actions refuse. */
struct config_apply_opts {
	unsigned int parts; /* CONFIG_PART_*; 0: all */
	/* false: stop at the first (--config); true: log it, go on (state). */
	bool keep_going;
	/* Called with each refusal ("path: where: reason") when going on. */
	void (*refused_cb)(const char *msg, void *arg);
	void *arg;
	int refused; /* out: entries refused */
};

/*
 * Applies a config read by config_read(): the uplink, the ports, the poll
 * mode, the FDB settings and static entries, the mirrors, in that order,
 * or only the
 * o->parts asked for.  'o' may be NULL (all parts; stop at the first
 * refusal).  0 or -1 with 'err' set.
 */
int config_apply(struct vhsw *sw, const char *path, json_t *cfg,
	struct config_apply_opts *o, char *err, size_t errlen);
/* The running configuration. */
json_t *config_dump(const struct vhsw *sw);
/*
 * Writes 'cfg' to 'path' atomically (a new file, renamed over the old one)
 * with 'mode'; 'durable': fsync the file and the directory as well.  0 or
 * -1 with 'err' set.
 */
int config_write(json_t *cfg, const char *path, unsigned int mode, bool durable,
	char *err, size_t errlen);
/* Writes config_dump() to 'path' atomically.  0 or -1 with 'err' set. */
int config_save(
	const struct vhsw *sw, const char *path, char *err, size_t errlen);

#endif /* VHSW_CONFIG_H */
