/*
 * Unit tests of the growable buffer: appends, formatting, the size cap
 * and the promise that a failed append changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "error.h"

static void
test_empty_is_empty_string(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.len, 0);
	buf_cleanup(&b);
}

static void
test_append_and_terminate(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_putc(&b, ','), 0);
	assert_int_equal(buf_append(&b, " world!!", 6), 0);
	assert_string_equal(buf_str(&b), "hello, world");
	assert_int_equal(b.len, 12);
	assert_true(b.cap > b.len);
	buf_cleanup(&b);
}

static void
test_binary_bytes_kept(void **state)
{
	struct buf	 b;
	const char	 bytes[] = { 'a', '\0', 'b', (char)0xff };

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, bytes, sizeof(bytes)), 0);
	assert_int_equal(b.len, sizeof(bytes));
	assert_memory_equal(b.data, bytes, sizeof(bytes));
	assert_int_equal(b.data[b.len], '\0');
	buf_cleanup(&b);
}

static void
test_grows_over_many_appends(void **state)
{
	struct buf	 b;
	size_t		 i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(strlen(buf_str(&b)), 100000);
	assert_int_equal(b.data[26], 'a');
	assert_int_equal(b.data[99999], 'a' + 99999 % 26);
	buf_cleanup(&b);
}

static void
test_printf_formats(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_int_equal(buf_printf(&b, ";%05.1f", 3.14159), 0);
	assert_string_equal(buf_str(&b), "n=42;003.1");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 10);
	buf_cleanup(&b);
}

static void
test_printf_long_output(void **state)
{
	struct buf	 b;
	char		 big[5000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "<"), 0);
	assert_int_equal(buf_printf(&b, "%s>", big), 0);
	assert_int_equal(b.len, 1 + 4999 + 1);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[5000], '>');
	assert_int_equal(b.data[5001], '\0');
	buf_cleanup(&b);
}

static void
test_max_allows_exactly_max(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(b.len, 8);
	assert_true(b.cap <= 9);
	assert_int_equal(buf_putc(&b, '9'), WS_ERR_TOOBIG);
	assert_string_equal(buf_str(&b), "12345678");
	buf_cleanup(&b);
}

static void
test_failed_append_leaves_contents(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_puts(&b, "defghijk"), WS_ERR_TOOBIG);
	assert_string_equal(buf_str(&b), "abc");
	assert_int_equal(b.len, 3);
	assert_int_equal(buf_printf(&b, "%d", 12345678), WS_ERR_TOOBIG);
	assert_string_equal(buf_str(&b), "abc");
	assert_int_equal(b.len, 3);
	buf_cleanup(&b);
}

static void
test_overflowing_size_rejected(void **state)
{
	struct buf	 b;
	char		 c = 'x';

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, 'a'), 0);
	/* A length that would wrap size_t must fail before any copy. */
	assert_int_equal(buf_append(&b, &c, SIZE_MAX), WS_ERR_TOOBIG);
	assert_int_equal(buf_append(&b, &c, SIZE_MAX - 1), WS_ERR_TOOBIG);
	assert_string_equal(buf_str(&b), "a");
	buf_cleanup(&b);
}

static void
test_reset_keeps_memory(void **state)
{
	struct buf	 b;
	char		*before;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "something"), 0);
	before = b.data;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_ptr_equal(b.data, before);
	assert_int_equal(buf_puts(&b, "new"), 0);
	assert_string_equal(buf_str(&b), "new");
	buf_cleanup(&b);
}

static void
test_cleanup_null_and_twice(void **state)
{
	struct buf	 b;

	(void)state;
	buf_cleanup(NULL);
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "x"), 0);
	buf_cleanup(&b);
	buf_cleanup(&b);
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
}

static void
test_err_names(void **state)
{
	(void)state;
	assert_string_equal(ws_err_name(WS_OK), "ok");
	assert_string_equal(ws_err_name(WS_ERR_TOOBIG), "too big");
	assert_non_null(ws_err_name(WS_ERR_INTERNAL));
	assert_string_equal(ws_err_name(-1), "unknown error");
	assert_string_equal(ws_err_name(9999), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_empty_string),
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_binary_bytes_kept),
		cmocka_unit_test(test_grows_over_many_appends),
		cmocka_unit_test(test_printf_formats),
		cmocka_unit_test(test_printf_long_output),
		cmocka_unit_test(test_max_allows_exactly_max),
		cmocka_unit_test(test_failed_append_leaves_contents),
		cmocka_unit_test(test_overflowing_size_rejected),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_cleanup_null_and_twice),
		cmocka_unit_test(test_err_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
