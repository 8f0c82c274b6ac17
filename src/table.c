/*
 * Aligned text tables.  See table.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "xmalloc.h"

static const char *const color_seq[] = {
	[TC_NONE] = "",
	[TC_GREEN] = "\033[32m",
	[TC_YELLOW] = "\033[33m",
	[TC_RED] = "\033[31m",
	[TC_BLUE] = "\033[36m",
	[TC_DIM] = "\033[2m",
};

const char *
table_color_on(enum tcolor c)
{
	return (unsigned)c < nitems(color_seq) ? color_seq[c] : "";
}

bool
table_want_color(FILE *f)
{
	const char	*nc = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(fileno(f)) && (nc == NULL || *nc == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
}

void
table_init(struct table *t, size_t ncols, const char *const *heads)
{
	size_t	i;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headed = heads != NULL;
	for (i = 0; heads != NULL && i < ncols; i++)
		table_cell(t, heads[i], TC_NONE);
}

void
table_free(struct table *t)
{
	strv_free(&t->cells);
	free(t->colors);
	memset(t, 0, sizeof(*t));
}

void
table_cell(struct table *t, const char *text, enum tcolor c)
{
	char	*s = xstrdup(text != NULL ? text : "-");
	size_t	 i;

	/* Invalid UTF-8 and control characters, C0, DEL and C1 (U+0080 to
	 * U+009F, a terminal's CSI among them), are shown as '?'. */
	utf8_sanitize(s, strlen(s));
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
		else if ((unsigned char)s[i] == 0xc2 &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			s[i] = '?';
			memmove(s + i + 1, s + i + 2, strlen(s + i + 2) + 1);
		}
	}
	strv_push(&t->cells, *s != '\0' ? s : "-");
	free(s);
	t->colors = xreallocarray(t->colors, t->cells.n, sizeof(*t->colors));
	t->colors[t->cells.n - 1] = c;
}

void
table_cellf(struct table *t, enum tcolor c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_cell(t, s != NULL ? s : "?", c);
	free(s);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t
width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static const char *
cell_text(const struct table *t, size_t i)
{
	const char	*s = t->cells.v[i];

	/* A header's alignment mark is not shown. */
	return t->headed && i < t->ncols && *s == '>' ? s + 1 : s;
}

void
table_print(const struct table *t, FILE *f, bool color)
{
	size_t	*w, i, col, pad, n;
	bool	 right, head;

	if (t->ncols == 0)
		return;
	w = xcalloc(t->ncols, sizeof(*w));
	for (i = 0; i < t->cells.n; i++) {
		n = width(cell_text(t, i));
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	for (i = 0; i < t->cells.n; i++) {
		col = i % t->ncols;
		right = t->headed && *t->cells.v[col] == '>';
		pad = w[col] - width(cell_text(t, i));
		if (col > 0)
			fputs("  ", f);
		if (right)
			fprintf(f, "%*s", (int)pad, "");
		head = t->headed && i < t->ncols;
		if (color && head)
			fputs("\033[1m", f);
		else if (color && t->colors[i] != TC_NONE)
			fputs(table_color_on(t->colors[i]), f);
		fputs(cell_text(t, i), f);
		if (color && (head || t->colors[i] != TC_NONE))
			fputs("\033[0m", f);
		/* No trailing blanks after the last column. */
		if (!right && col + 1 < t->ncols &&
		    (i + 1 < t->cells.n))
			fprintf(f, "%*s", (int)pad, "");
		if (col + 1 == t->ncols || i + 1 == t->cells.n)
			fputc('\n', f);
	}
	free(w);
}
