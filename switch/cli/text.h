/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * text.h - vhswctl's text output: tables whose columns fit their content,
 * and a renderer that turns any JSON reply into readable text, so that no
 * command prints raw JSON, including commands added later without a
 * printer of their own.
 *
 * The rendering rules (docs/cli.md, "Text output"):
 * - an object: its scalar members as an aligned "key  value" list (values
 *   right-aligned when all of them are numbers), then each nested member
 *   as a section "key:" indented by two;
 * - an array of objects: a table, one column per key (upper-case header),
 *   columns as wide as their widest cell, numbers right-aligned;
 * - an array of scalars: its elements joined by ", "; empty: "none";
 * - any other array: each element as a section named by its index ("0:");
 * - null: "-"; a nested value inside a table cell: "key=value" pairs;
 * - a string member whose key ends in "features" and that holds a hex
 *   number: the number, then the names of its bits (virtio_names.h).
 * Long values in the last column wrap at TEXT_WIDTH, under their column.
 *
 * Thread-safety: vhswctl is single-threaded; no function keeps state
 * between calls except the table it is given.
 */
#ifndef VHSW_CLI_TEXT_H
#define VHSW_CLI_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#define TEXT_WIDTH 79 /* wrap and fit within this many columns */

enum text_align {
	TEXT_LEFT,
	TEXT_RIGHT,
};

struct text_table;

/* An empty table without columns; NULL when out of memory. */
struct text_table *text_table_new(void);

/*
 * Adds a column.  'header' NULL for every column: no header line (a
 * "key  value" list).
 */
void text_table_col(
	struct text_table *t, const char *header, enum text_align align);

/*
 * Wraps the last column's text at spaces to fit TEXT_WIDTH (continuation
 * lines start under the column); a '\n' in it always breaks the line.
 */
void text_table_wrap(struct text_table *t);

/* Appends a cell to the current row; the row ends after the last column. */
void text_table_add(struct text_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a cell holding 'v' rendered as text_value() does. */
void text_table_add_json(struct text_table *t, const json_t *v);

/* Number of complete rows so far. */
size_t text_table_rows(const struct text_table *t);

/*
 * Prints the table, each line after 'indent' spaces: columns separated by
 * two spaces, as wide as their widest cell or header; no trailing blanks.
 */
void text_table_print(const struct text_table *t, FILE *f, int indent);

/* Frees the table; NULL is fine. */
void text_table_free(struct text_table *t);

/*
 * 'v' as one piece of text (malloc'd; NULL when out of memory): strings
 * as they are, numbers, true/false, "-" for null, arrays of scalars
 * joined by ", " ("none" when empty), objects as "key=value" pairs.
 */
char *text_value(const json_t *v);

/* True for a value text_value() renders in one piece: not an object, not
 * an array holding objects or arrays. */
bool text_is_flat(const json_t *v);

/*
 * The names of the feature bits in 'hex' ("0x950008000"), separated by
 * spaces, into 'buf'; 'protocol' picks the vhost-user protocol feature
 * table.  "none" for no bit; NULL if 'hex' is not a hex number.
 */
const char *text_features(
	const char *hex, bool protocol, char *buf, size_t len);

/* Renders any JSON value with the rules above, indented by 'indent'. */
void text_json(FILE *f, int indent, const json_t *v);

#endif /* VHSW_CLI_TEXT_H */
