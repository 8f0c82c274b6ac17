/*
 * Aligned text tables for the command-line applets: a header row and
 * rows of cells, each column as wide as its widest cell (in characters,
 * not bytes), left-aligned unless its header starts with '>' (numbers),
 * two spaces between columns, no trailing blanks.  A cell may carry a
 * colour, used only when the caller says the output is a terminal.
 * Control characters in cells are shown as '?' (values come from other
 * hosts).
 */
#ifndef DFFMPEG_TABLE_H
#define DFFMPEG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum tcolor { TC_NONE, TC_GREEN, TC_YELLOW, TC_RED, TC_BLUE, TC_DIM };

struct table {
	size_t		 ncols;
	bool		 headed;	/* the first row is the header */
	struct strv	 cells;		/* row-major, headers first */
	int		*colors;	/* one per cell */
	size_t		 ncolors;
};

/* heads: ncols header texts ('>' first: right-aligned), or NULL for a
 * table without a header (key/value lists). */
void	 table_init(struct table *, size_t ncols, const char *const *heads);
void	 table_free(struct table *);
/* Append one cell to the current row (rows fill left to right). */
void	 table_cell(struct table *, const char *text, enum tcolor);
void	 table_cellf(struct table *, enum tcolor, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 table_print(const struct table *, FILE *, bool color);

/* Whether to colour what goes to f: a terminal, and NO_COLOR unset. */
bool	 table_want_color(FILE *);
/* The escape sequence of a colour ("" for TC_NONE). */
const char *table_color_on(enum tcolor);

#endif
