/*
 * The string-keyed hash map: lookups, replacement, deletion with
 * tombstones, growth, and churn that must not wedge the probe loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "unit.h"

#define MANY	5000

static char	keys[MANY][16];

START_TEST(test_basic)
{
	struct hmap	h = { 0 };
	int		a = 1, b = 2;

	ck_assert_ptr_null(hmap_get(&h, "x"));
	ck_assert_ptr_null(hmap_del(&h, "x"));
	hmap_put(&h, "x", &a);
	hmap_put(&h, "y", &b);
	ck_assert_ptr_eq(hmap_get(&h, "x"), &a);
	ck_assert_ptr_eq(hmap_get(&h, "y"), &b);
	hmap_put(&h, "x", &b);		/* replace */
	ck_assert_ptr_eq(hmap_get(&h, "x"), &b);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_ptr_eq(hmap_del(&h, "x"), &b);
	ck_assert_ptr_null(hmap_get(&h, "x"));
	ck_assert_ptr_eq(hmap_get(&h, "y"), &b);
	ck_assert_uint_eq(h.n, 1);
	hmap_free(&h);
}
END_TEST

START_TEST(test_many_and_churn)
{
	struct hmap	h = { 0 };
	int		i, round;

	for (i = 0; i < MANY; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		hmap_put(&h, keys[i], keys[i]);
	}
	ck_assert_uint_eq(h.n, MANY);
	for (i = 0; i < MANY; i++)
		ck_assert_ptr_eq(hmap_get(&h, keys[i]), keys[i]);
	ck_assert_ptr_null(hmap_get(&h, "k-absent"));
	/* Delete and re-add over and over: tombstones must be reclaimed. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < MANY; i += 2)
			ck_assert_ptr_eq(hmap_del(&h, keys[i]), keys[i]);
		ck_assert_uint_eq(h.n, MANY / 2);
		for (i = 0; i < MANY; i += 2)
			hmap_put(&h, keys[i], keys[i]);
	}
	for (i = 0; i < MANY; i++)
		ck_assert_ptr_eq(hmap_get(&h, keys[i]), keys[i]);
	ck_assert(h.used * 4 <= h.cap * 3);
	hmap_free(&h);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("hmap");
	TCase	*tc = tcase_create("hmap");

	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_many_and_churn);
	suite_add_tcase(s, tc);
	return s;
}
