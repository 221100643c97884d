/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * text.c - tables and the JSON-to-text renderer of vhswctl (see text.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "virtio_names.h"

struct text_col {
	char *header;
	enum text_align align;
};

struct text_table {
	struct text_col *cols;
	size_t ncols;
	char **cells; /* row-major; NULL: out of memory, printed empty */
	size_t ncells, cap;
	bool wrap;
};

struct text_table *
text_table_new(void)
{
	return calloc(1, sizeof(struct text_table));
}

void
text_table_col(struct text_table *t, const char *header, enum text_align align)
{
	struct text_col *c;

	if (t == NULL || t->ncells > 0)
		return;
	c = realloc(t->cols, (t->ncols + 1) * sizeof(*c));
	if (c == NULL)
		return;
	t->cols = c;
	c[t->ncols].header = header ? strdup(header) : NULL;
	c[t->ncols].align = align;
	t->ncols++;
}

void
text_table_wrap(struct text_table *t)
{
	if (t != NULL)
		t->wrap = true;
}

/* Appends 's' (taken over; NULL allowed) as the next cell. */
static void
table_push(struct text_table *t, char *s)
{
	bool last_wraps;
	char **cells;
	char *p;

	if (t == NULL || t->ncols == 0) {
		free(s);
		return;
	}
	if (t->ncells == t->cap) {
		cells = realloc(t->cells, (t->cap * 2 + 16) * sizeof(*cells));
		if (cells == NULL) {
			free(s);
			return;
		}
		t->cells = cells;
		t->cap = t->cap * 2 + 16;
	}
	/* Control characters (from a peer, a file name) never break the
	 * layout; a '\n' stays only where it breaks a wrapped last column. */
	last_wraps = t->wrap && t->ncells % t->ncols == t->ncols - 1;
	for (p = s; p != NULL && *p; p++)
		if (iscntrl((unsigned char)*p) && !(*p == '\n' && last_wraps))
			*p = ' ';
	t->cells[t->ncells++] = s;
}

void
text_table_add(struct text_table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_push(t, s);
}

void
text_table_add_json(struct text_table *t, const json_t *v)
{
	table_push(t, text_value(v));
}

size_t
text_table_rows(const struct text_table *t)
{
	return t == NULL || t->ncols == 0 ? 0 : t->ncells / t->ncols;
}

static const char *
cell(const struct text_table *t, size_t row, size_t col)
{
	const char *s = t->cells[row * t->ncols + col];

	return s ? s : "";
}

/*
 * Prints 'text' from the current column 'start' (already there), wrapped
 * at spaces to fit TEXT_WIDTH; each '\n' and each wrap continues under
 * 'start'.
 */
static void
print_wrapped(FILE *f, int start, const char *text)
{
	int avail = TEXT_WIDTH - start, col = 0, k;
	const char *w = text;
	bool sep = false; /* a word before on this line */

	if (avail < 24)
		avail = 24;
	/* Leading blanks are padding (right-aligned numbers): keep them. */
	for (; *w == ' '; w++, col++)
		fputc(' ', f);
	for (;;) {
		if (*w == '\n') {
			fprintf(f, "\n%*s", start, "");
			col = 0;
			sep = false;
			w++;
			continue;
		}
		if (*w == ' ') {
			w++;
			continue;
		}
		k = (int)strcspn(w, " \n");
		if (k == 0)
			break;
		if (sep && col + 1 + k > avail) {
			fprintf(f, "\n%*s", start, "");
			col = 0;
		} else if (sep) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", k, w);
		col += k;
		w += k;
		sep = true;
	}
}

void
text_table_print(const struct text_table *t, FILE *f, int indent)
{
	size_t rows = text_table_rows(t), r, c, *width, n;
	bool header = false;
	int start;

	if (t == NULL || t->ncols == 0)
		return;
	width = calloc(t->ncols, sizeof(*width));
	if (width == NULL)
		return;
	for (c = 0; c < t->ncols; c++) {
		if (t->cols[c].header != NULL) {
			header = true;
			width[c] = strlen(t->cols[c].header);
		}
		for (r = 0; r < rows; r++) {
			n = strcspn(cell(t, r, c), "\n");
			if (n > width[c])
				width[c] = n;
		}
	}
	for (r = header ? 0 : 1; r <= rows; r++) {
		fprintf(f, "%*s", indent, "");
		start = indent;
		for (c = 0; c < t->ncols; c++) {
			const char *s =
				r == 0 ? t->cols[c].header : cell(t, r - 1, c);
			bool last = c + 1 == t->ncols;

			if (s == NULL)
				s = "";
			if (c > 0)
				fputs("  ", f);
			if (t->cols[c].align == TEXT_RIGHT)
				fprintf(f, "%*s", (int)width[c], s);
			else if (!last)
				fprintf(f, "%-*s", (int)width[c], s);
			else if (t->wrap && r > 0)
				print_wrapped(f, start, s);
			else
				fputs(s, f);
			start += (int)width[c] + 2;
		}
		fputc('\n', f);
	}
	free(width);
}

void
text_table_free(struct text_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	for (i = 0; i < t->ncols; i++)
		free(t->cols[i].header);
	free(t->cells);
	free(t->cols);
	free(t);
}

static bool
is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

bool
text_is_flat(const json_t *v)
{
	const json_t *e;
	size_t i;

	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (!json_is_array(v))
		return true;
	json_array_foreach(v, i, e) if (!is_scalar(e)) return false;
	return true;
}

static void
put_value(FILE *m, const json_t *v, bool nested)
{
	const char *key, *p;
	const json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		/* A control character from a peer or a file name (even a
		 * '\n') cannot break the layout. */
		for (p = json_string_value(v); *p; p++)
			fputc(iscntrl((unsigned char)*p) ? ' ' : *p, m);
		break;
	case JSON_INTEGER:
		fprintf(m, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(m, "%.6g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", m);
		break;
	case JSON_FALSE:
		fputs("false", m);
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			fputs("none", m);
		json_array_foreach(v, i, e)
		{
			fputs(i ? ", " : "", m);
			put_value(m, e, true);
		}
		break;
	case JSON_OBJECT:
		if (json_object_size(v) == 0) {
			fputs("-", m);
			break;
		}
		fputs(nested ? "(" : "", m);
		i = 0;
		json_object_foreach((json_t *)v, key, e)
		{
			fprintf(m, "%s%s=", i++ ? " " : "", key);
			put_value(m, e, true);
		}
		fputs(nested ? ")" : "", m);
		break;
	default:
		fputs("-", m);
	}
}

char *
text_value(const json_t *v)
{
	char *s = NULL;
	size_t len;
	FILE *m;

	if (v == NULL)
		return strdup("-");
	m = open_memstream(&s, &len);
	if (m == NULL)
		return NULL;
	put_value(m, v, false);
	if (fclose(m) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

const char *
text_features(const char *hex, bool protocol, char *buf, size_t len)
{
	unsigned long long bits;
	char *end;

	if (hex == NULL || strncmp(hex, "0x", 2) != 0 || !isxdigit(hex[2]))
		return NULL;
	errno = 0;
	bits = strtoull(hex + 2, &end, 16);
	if (errno != 0 || *end != '\0')
		return NULL;
	if (bits == 0) {
		snprintf(buf, len, "none");
		return buf;
	}
	virtio_features_format(bits, protocol, " ", buf, len);
	return buf;
}

static bool
is_number(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

/* A key whose value is a feature bit mask ("features", "protocol_features"). */
static bool
is_features_key(const char *key)
{
	size_t n = strlen(key);

	return n >= 8 && strcmp(key + n - 8, "features") == 0;
}

/*
 * The scalar members of 'o' as a "key  value" list; values right-aligned
 * when all of them are numbers (a list of counters).
 */
static void
print_flat_members(FILE *f, int indent, const json_t *o)
{
	bool numbers = true, any = false;
	struct text_table *t;
	char names[4096];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		if (!text_is_flat(v))
			continue;
		any = true;
		numbers = numbers && is_number(v);
	}
	if (!any)
		return;
	t = text_table_new();
	text_table_col(t, NULL, TEXT_LEFT);
	text_table_col(t, NULL, numbers ? TEXT_RIGHT : TEXT_LEFT);
	text_table_wrap(t);
	json_object_foreach((json_t *)o, key, v)
	{
		if (!text_is_flat(v))
			continue;
		text_table_add(t, "%s", key);
		if (is_features_key(key) && json_is_string(v) &&
			text_features(json_string_value(v),
				strstr(key, "protocol") != NULL, names,
				sizeof(names)) != NULL &&
			strcmp(names, "none") != 0)
			text_table_add(
				t, "%s\n%s", json_string_value(v), names);
		else
			text_table_add_json(t, v);
	}
	text_table_print(t, f, indent);
	text_table_free(t);
}

/* An array of objects as a table, one column per key. */
static void
print_object_array(FILE *f, int indent, const json_t *a)
{
	struct text_table *t = text_table_new();
	json_t *keys = json_object(), *e, *v;
	const char *key;
	size_t i, j;
	char *h;

	/* The union of the keys, in order of first appearance; each key's
	 * value says whether all its cells are numbers. */
	json_array_foreach(a, i, e) json_object_foreach(e, key, v)
	{
		json_t *num = json_object_get(keys, key);

		if (num == NULL)
			json_object_set_new(keys, key, json_boolean(1));
		if (!is_number(v) && !json_is_null(v))
			json_object_set_new(keys, key, json_boolean(0));
	}
	json_object_foreach(keys, key, v)
	{
		h = strdup(key);
		for (j = 0; h != NULL && h[j]; j++)
			h[j] = (char)toupper((unsigned char)h[j]);
		text_table_col(t, h ? h : key,
			json_is_true(v) ? TEXT_RIGHT : TEXT_LEFT);
		free(h);
	}
	json_array_foreach(a, i, e) json_object_foreach(keys, key, v)
		text_table_add_json(t, json_object_get(e, key));
	text_table_print(t, f, indent);
	text_table_free(t);
	json_decref(keys);
}

static bool
all_objects(const json_t *a)
{
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e) if (!json_is_object(e)) return false;
	return json_array_size(a) > 0;
}

void
text_json(FILE *f, int indent, const json_t *v)
{
	bool before = false;
	const char *key;
	json_t *e;
	size_t i;
	char *s;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e) before =
			before || text_is_flat(e);
		print_flat_members(f, indent, v);
		json_object_foreach((json_t *)v, key, e)
		{
			if (text_is_flat(e))
				continue;
			/* A blank line between top-level sections. */
			if (indent == 0 && before)
				fputc('\n', f);
			before = true;
			fprintf(f, "%*s%s:\n", indent, "", key);
			text_json(f, indent + 2, e);
		}
	} else if (json_is_array(v) && all_objects(v)) {
		print_object_array(f, indent, v);
	} else if (json_is_array(v) && text_is_flat(v)) {
		if (json_array_size(v) == 0)
			fprintf(f, "%*snone\n", indent, "");
		json_array_foreach(v, i, e)
		{
			s = text_value(e);
			fprintf(f, "%*s%s\n", indent, "", s ? s : "");
			free(s);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (text_is_flat(e)) {
				s = text_value(e);
				fprintf(f, "%*s%s\n", indent, "", s ? s : "");
				free(s);
				continue;
			}
			fprintf(f, "%*s%zu:\n", indent, "", i);
			text_json(f, indent + 2, e);
		}
	} else {
		s = text_value(v);
		fprintf(f, "%*s%s\n", indent, "", s ? s : "");
		free(s);
	}
}
