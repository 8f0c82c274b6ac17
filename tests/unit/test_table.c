/*
 * Aligned text tables (table.c), printed into memory and compared byte
 * for byte: widths in characters, right-aligned number columns, two
 * spaces between columns and none after the last, control characters and
 * empty cells, tables without a header, and colour only when asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "unit.h"

/* What table_print writes, as an owned string. */
static char *
print(const struct table *t, bool color)
{
	FILE	*f;
	char	*out = NULL;
	size_t	 len = 0;

	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	table_print(t, f, color);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

/* No line of s ends in a blank. */
static void
no_trailing_blanks(const char *s)
{
	const char	*nl;

	for (; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
		ck_assert_msg(nl == s || nl[-1] != ' ', "trailing blank in "
		    "'%.*s'", (int)(nl - s), s);
	ck_assert_str_eq(s, "");	/* every line ends in '\n' */
}

static void
row(struct table *t, const char *a, const char *b, const char *c)
{
	table_cell(t, a, TC_NONE);
	table_cell(t, b, TC_NONE);
	table_cell(t, c, TC_NONE);
}

START_TEST(test_aligned)
{
	static const char *const heads[] = { "ID", ">SIZE", "NAME" };
	struct table	 t;
	char		*out;

	table_init(&t, 3, heads);
	row(&t, "a1", "5", "x");
	row(&t, "bbbb", "12345", "longer name");
	row(&t, "c", "678", "y");
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "ID     SIZE  NAME\n"
	    "a1        5  x\n"
	    "bbbb  12345  longer name\n"
	    "c       678  y\n");
	no_trailing_blanks(out);
	free(out);
	table_free(&t);
	ck_assert_uint_eq(t.cells.n, 0);
	ck_assert_ptr_null(t.colors);
}
END_TEST

/* The last column right-aligned; a header wider than its cells. */
START_TEST(test_right_last)
{
	static const char *const heads[] = { "STATE", ">PERCENT" };
	struct table	 t;
	char		*out;

	table_init(&t, 2, heads);
	table_cell(&t, "running", TC_GREEN);
	table_cellf(&t, TC_NONE, "%.1f%%", 8.0);
	table_cell(&t, "queued", TC_YELLOW);
	table_cellf(&t, TC_NONE, "%d%%", 100);
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "STATE    PERCENT\n"
	    "running     8.0%\n"
	    "queued      100%\n");
	no_trailing_blanks(out);
	free(out);
	table_free(&t);
}
END_TEST

START_TEST(test_utf8_width)
{
	static const char *const heads[] = { "NAME", ">N", "PATH" };
	struct table	 t;
	char		*out;

	table_init(&t, 3, heads);
	row(&t, "caf\xc3\xa9", "\xe2\x82\xac" "5",
	    "/m/\xe6\x97\xa5\xe6\x9c\xac");
	row(&t, "abcde", "12", "/x");
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "NAME    N  PATH\n"
	    "caf\xc3\xa9   \xe2\x82\xac" "5  /m/\xe6\x97\xa5\xe6\x9c\xac\n"
	    "abcde  12  /x\n");
	no_trailing_blanks(out);
	free(out);
	table_free(&t);
}
END_TEST

static void
row1(struct table *t, const char *a)
{
	table_cell(t, a, TC_NONE);
}

START_TEST(test_control_and_empty)
{
	static const char *const heads[] = { "K\tEY", "VALUE", ">N" };
	struct table	 t;
	char		*out;

	table_init(&t, 3, heads);
	row(&t, "a\x1b[31mb", "", "1");
	row(&t, NULL, "x\ry\nz\x7f", "");
	row(&t, ">x", "-", "22");
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "K?EY     VALUE    N\n"
	    "a?[31mb  -        1\n"
	    "-        x?y?z?   -\n"
	    ">x       -       22\n");
	ck_assert_ptr_null(strchr(out, '\x1b'));
	no_trailing_blanks(out);
	free(out);
	table_free(&t);

	/* C1 controls (U+009B is a terminal's CSI) and invalid UTF-8 too;
	 * other characters stay. */
	table_init(&t, 1, NULL);
	row1(&t, "a\xc2\x9b" "31mX");
	row1(&t, "\xff\xc3\xa9");
	out = print(&t, false);
	ck_assert_str_eq(out, "a?31mX\n?\xc3\xa9\n");
	free(out);
	table_free(&t);
}
END_TEST

/* Key/value lists: no header, every column left-aligned, '>' shown. */
START_TEST(test_headless)
{
	struct table	 t;
	char		*out;

	table_init(&t, 2, NULL);
	ck_assert(!t.headed);
	table_cell(&t, "id", TC_NONE);
	table_cell(&t, "job-1", TC_NONE);
	table_cell(&t, "state", TC_NONE);
	table_cell(&t, "failed", TC_RED);
	table_cell(&t, ">size", TC_NONE);
	table_cellf(&t, TC_NONE, "%d", 42);
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "id     job-1\n"
	    "state  failed\n"
	    ">size  42\n");
	no_trailing_blanks(out);
	free(out);
	table_free(&t);

	/* No cells at all, or no columns: nothing. */
	table_init(&t, 2, NULL);
	out = print(&t, false);
	ck_assert_str_eq(out, "");
	free(out);
	table_free(&t);
	table_init(&t, 0, NULL);
	out = print(&t, true);
	ck_assert_str_eq(out, "");
	free(out);
	table_free(&t);
}
END_TEST

/* A last row with fewer cells than columns ends after its last cell. */
START_TEST(test_short_row)
{
	static const char *const heads[] = { "A", "B", "C" };
	struct table	 t;
	char		*out;

	table_init(&t, 3, heads);
	row(&t, "xxx", "yyy", "zzz");
	table_cell(&t, "1", TC_NONE);
	table_cell(&t, "2", TC_NONE);
	out = print(&t, false);
	ck_assert_str_eq(out,
	    "A    B    C\n"
	    "xxx  yyy  zzz\n"
	    "1    2\n");
	no_trailing_blanks(out);
	free(out);
	table_free(&t);

	/* Only the header. */
	table_init(&t, 3, heads);
	out = print(&t, false);
	ck_assert_str_eq(out, "A  B  C\n");
	free(out);
	table_free(&t);
}
END_TEST

START_TEST(test_color)
{
	static const char *const heads[] = { "JOB", ">N", "STATE" };
	struct table	 t;
	char		*out;

	table_init(&t, 3, heads);
	table_cell(&t, "j1", TC_NONE);
	table_cell(&t, "7", TC_DIM);
	table_cell(&t, "ok", TC_GREEN);
	table_cell(&t, "job2", TC_BLUE);
	table_cell(&t, "10", TC_NONE);
	table_cell(&t, "failed", TC_RED);

	out = print(&t, false);
	ck_assert_str_eq(out,
	    "JOB    N  STATE\n"
	    "j1     7  ok\n"
	    "job2  10  failed\n");
	free(out);

	/* Padding stays outside the escapes. */
	out = print(&t, true);
	ck_assert_str_eq(out,
	    "\033[1mJOB\033[0m    \033[1mN\033[0m  \033[1mSTATE\033[0m\n"
	    "j1     \033[2m7\033[0m  \033[32mok\033[0m\n"
	    "\033[36mjob2\033[0m  10  \033[31mfailed\033[0m\n");
	free(out);
	table_free(&t);

	ck_assert_str_eq(table_color_on(TC_NONE), "");
	ck_assert_str_eq(table_color_on(TC_GREEN), "\033[32m");
	ck_assert_str_eq(table_color_on(TC_YELLOW), "\033[33m");
	ck_assert_str_eq(table_color_on(TC_RED), "\033[31m");
	ck_assert_str_eq(table_color_on((enum tcolor)99), "");
}
END_TEST

START_TEST(test_want_color)
{
	FILE	*f;
	char	*out = NULL;
	size_t	 len = 0;

	/* Not a terminal. */
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert(!table_want_color(f));
	fclose(f);
	free(out);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("table");
	TCase	*tc = tcase_create("table");

	tcase_add_test(tc, test_aligned);
	tcase_add_test(tc, test_right_last);
	tcase_add_test(tc, test_utf8_width);
	tcase_add_test(tc, test_control_and_empty);
	tcase_add_test(tc, test_headless);
	tcase_add_test(tc, test_short_row);
	tcase_add_test(tc, test_color);
	tcase_add_test(tc, test_want_color);
	suite_add_tcase(s, tc);
	return s;
}
