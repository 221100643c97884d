/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ut_frame.h - building test frames byte by byte, network byte order, for
 * the unit tests that parse frames (test_policy, test_flow_hash).  Include
 * after <cmocka.h>.
 */
#ifndef VHSW_UT_FRAME_H
#define VHSW_UT_FRAME_H

#include <stdint.h>
#include <string.h>

/* A frame under construction. */
struct frame {
	uint8_t b[1600];
	uint32_t n;
};

static inline void
put8(struct frame *f, uint8_t v)
{
	assert_true(f->n < sizeof(f->b));
	f->b[f->n++] = v;
}

static inline void
put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static inline void
put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static inline void
putn(struct frame *f, const void *p, uint32_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

#endif /* VHSW_UT_FRAME_H */
