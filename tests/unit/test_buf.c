/* Unit tests for buf: growth, bounds, formatting, consumption. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

Test(buf, empty_is_a_valid_string)
{
	struct buf b = BUF_INIT;

	cr_assert_str_eq(buf_cstr(&b), "");
	cr_assert_eq(b.len, 0);
	buf_release(&b);
}

Test(buf, append_grows_and_terminates)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < 10000; i++)
		cr_assert_eq(buf_append(&b, "ab", 2), 0);
	cr_assert_eq(b.len, 20000);
	cr_assert_eq(b.data[20000], '\0');
	cr_assert(b.cap > b.len);
	cr_assert_eq(memcmp(b.data + 19998, "ab", 2), 0);
	buf_release(&b);
}

Test(buf, holds_nul_bytes)
{
	struct buf b = BUF_INIT;

	cr_assert_eq(buf_append(&b, "a\0b", 3), 0);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(b.data[1], '\0');
	cr_assert_eq(b.data[2], 'b');
	buf_release(&b);
}

Test(buf, maximum_is_exact)
{
	struct buf b;

	buf_init(&b, 8);
	cr_assert_eq(buf_append(&b, "12345678", 8), 0);	/* exactly max */
	cr_assert_eq(buf_append_byte(&b, '9'), -1);	/* one past */
	cr_assert_eq(b.len, 8);
	cr_assert_str_eq(buf_cstr(&b), "12345678");
	buf_consume(&b, 3);
	cr_assert_str_eq(buf_cstr(&b), "45678");
	cr_assert_eq(buf_append(&b, "abc", 3), 0);
	cr_assert_eq(buf_append(&b, "x", 1), -1);
	buf_release(&b);
}

Test(buf, printf_respects_maximum_and_leaves_buffer_unchanged)
{
	struct buf b;

	buf_init(&b, 10);
	cr_assert_eq(buf_printf(&b, "%d-%s", 42, "ok"), 0);
	cr_assert_str_eq(buf_cstr(&b), "42-ok");
	cr_assert_eq(buf_printf(&b, "%s", "too long!"), -1);
	cr_assert_str_eq(buf_cstr(&b), "42-ok");
	buf_release(&b);
}

Test(buf, consume_all_and_more)
{
	struct buf b = BUF_INIT;

	buf_append_str(&b, "hello");
	buf_consume(&b, 99);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
}

Test(buf, truncate_only_shrinks)
{
	struct buf b = BUF_INIT;

	buf_append_str(&b, "hello");
	buf_truncate(&b, 10);
	cr_assert_str_eq(buf_cstr(&b), "hello");
	buf_truncate(&b, 2);
	cr_assert_str_eq(buf_cstr(&b), "he");
	buf_release(&b);
}

Test(buf, steal_hands_over_storage)
{
	struct buf b = BUF_INIT;
	char *s;

	s = buf_steal(&b);
	cr_assert_str_eq(s, "");
	free(s);
	buf_append_str(&b, "mine");
	s = buf_steal(&b);
	cr_assert_str_eq(s, "mine");
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	free(s);
}

Test(buf, reserve_overflow_is_refused)
{
	struct buf b = BUF_INIT;

	cr_assert_eq(buf_append_str(&b, "x"), 0);
	cr_assert_eq(buf_reserve(&b, SIZE_MAX), -1);
	cr_assert_eq(buf_reserve(&b, SIZE_MAX - 1), -1);
	cr_assert_str_eq(buf_cstr(&b), "x");
	buf_release(&b);
}

Test(buf, destroy_sets_null_and_accepts_null)
{
	struct buf *b = buf_new(0);

	buf_append_str(b, "x");
	buf_destroy(&b);
	cr_assert_null(b);
	buf_destroy(&b);
	buf_destroy(NULL);
}

Test(util, str_copy_truncates_and_reports)
{
	char small[4];

	cr_assert_eq(str_copy(small, "abcdef", sizeof(small)), 6);
	cr_assert_str_eq(small, "abc");
	cr_assert_eq(str_copy(small, "", sizeof(small)), 0);
	cr_assert_str_eq(small, "");
	cr_assert_eq(str_copy(small, "abc", sizeof(small)), 3);
	cr_assert_str_eq(small, "abc");
}

Test(util, mem_equal_ct)
{
	cr_assert(mem_equal_ct("abc", "abc", 3));
	cr_assert_not(mem_equal_ct("abc", "abd", 3));
	cr_assert(mem_equal_ct("", "", 0));
}

Test(util, xasprintf_formats)
{
	char *s = xasprintf("%s=%d", "n", 7);

	cr_assert_str_eq(s, "n=7");
	free(s);
}

Test(buf, read_file_bounds_and_errors)
{
	char path[] = "/tmp/sluice-test-buf-XXXXXX";
	struct buf b;
	const char *err = NULL;
	int fd = mkstemp(path);

	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	cr_assert_eq(buf_read_file(&b, path, 10, &err), 0, "%s", err);
	cr_assert_eq(b.len, 10);
	cr_assert_str_eq(buf_cstr(&b), "0123456789");
	buf_release(&b);
	cr_assert_eq(buf_read_file(&b, path, 9, &err), -1, "one past max");
	cr_assert(strstr(err, "larger than") != NULL, "%s", err);
	cr_assert_null(b.data);
	cr_assert_eq(buf_read_file(&b, "/tmp", 10, &err), -1);
	cr_assert_str_eq(err, "not a regular file");
	unlink(path);
	cr_assert_eq(buf_read_file(&b, path, 10, &err), -1);
	cr_assert(strstr(err, "cannot open") != NULL, "%s", err);
}
