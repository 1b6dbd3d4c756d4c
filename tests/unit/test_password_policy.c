/*
 * Unit tests of common/password_policy.c: each rule alone, characters
 * counted as code points, the deny-list (with the shipped starter
 * list) and the context words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "password_policy.h"

/*
 * The shipped list, found from WS_SOURCE_DIR when the harness sets it,
 * else from where this file was compiled (CMake passes absolute paths;
 * a build by hand from the source root passes a relative one).
 */
static void
list_path(char *out, size_t outlen)
{
	const char	*root = getenv("WS_SOURCE_DIR");
	const char	*tail = "tests/unit/test_password_policy.c";
	size_t		 n;
	int		 w;

	if (root != NULL && *root != '\0')
		w = snprintf(out, outlen, "%s/data/common-passwords.txt",
		    root);
	else {
		n = strlen(__FILE__);
		assert_true(n >= strlen(tail));
		n -= strlen(tail);
		w = snprintf(out, outlen, "%.*sdata/common-passwords.txt",
		    (int)n, __FILE__);
	}
	assert_true(w > 0 && (size_t)w < outlen);
}

/* A policy with composition on, so each test starts from the default. */
static struct password_policy
policy(void)
{
	struct password_policy	 p;

	password_policy_init(&p, PASSWORD_BCRYPT);
	return p;
}

static unsigned
eval(const struct password_policy *p, const char *pw)
{
	return password_policy_eval(p, pw, "alice_w", "alice.smith@ex.org");
}

static void
test_defaults(void **state)
{
	struct password_policy	 p;

	(void)state;
	password_policy_init(&p, PASSWORD_BCRYPT);
	assert_int_equal(p.min_length, 8);
	assert_int_equal(p.max_bytes, 72);
	assert_int_equal(p.composition, 1);
	password_policy_init(&p, PASSWORD_ARGON2ID);
	assert_int_equal(p.max_bytes, 1024);
}

static void
test_good_password_passes(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	assert_int_equal(eval(&p, "Tr0ub4dor&3x"), 0);
}

static void
test_too_short(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	assert_int_equal(eval(&p, "Tr0u&3x"), PASSWORD_RULE_TOO_SHORT);
	assert_int_equal(eval(&p, "Tr0u&3xy"), 0);
}

/* "äöüäöüäö" is 8 characters (16 bytes); "äöüä" is 4 (8 bytes). */
static void
test_length_counts_code_points(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	p.composition = 0;
	assert_int_equal(eval(&p, "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4"
	    "\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6"), 0);
	assert_int_equal(eval(&p, "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4"),
	    PASSWORD_RULE_TOO_SHORT);
	/* Four emoji of four bytes each are 4 characters. */
	assert_int_equal(eval(&p, "\xf0\x9f\x94\x91\xf0\x9f\x94\x91"
	    "\xf0\x9f\x94\x91\xf0\x9f\x94\x91"), PASSWORD_RULE_TOO_SHORT);
}

static void
test_invalid_utf8(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	/* A lone continuation byte, an overlong '/', a surrogate. */
	assert_int_equal(eval(&p, "Abcdef1!\x80"),
	    PASSWORD_RULE_INVALID_UTF8);
	assert_int_equal(eval(&p, "Abcdef1!\xc0\xaf"),
	    PASSWORD_RULE_INVALID_UTF8);
	assert_int_equal(eval(&p, "Abcdef1!\xed\xa0\x80"),
	    PASSWORD_RULE_INVALID_UTF8);
	assert_int_equal(eval(&p, "Abcdef1!\xf4\x90\x80\x80"),
	    PASSWORD_RULE_INVALID_UTF8);
	/* Truncated sequence at the end. */
	assert_int_equal(eval(&p, "Abcdef1!\xe2\x82"),
	    PASSWORD_RULE_INVALID_UTF8);
}

static void
test_too_long_bcrypt(void **state)
{
	struct password_policy	 p = policy();
	char			 pw[80];

	(void)state;
	memset(pw, 'x', sizeof(pw));
	memcpy(pw, "Ab1!", 4);
	pw[72] = '\0';
	assert_int_equal(eval(&p, pw), 0);
	pw[72] = 'x';
	pw[73] = '\0';
	assert_int_equal(eval(&p, pw), PASSWORD_RULE_TOO_LONG);
}

/* 72 bytes of 2-byte characters is 36 characters: bytes decide. */
static void
test_too_long_counts_bytes(void **state)
{
	struct password_policy	 p = policy();
	char			 pw[80];
	size_t			 i;

	(void)state;
	p.composition = 0;
	for (i = 0; i < 74; i += 2)
		memcpy(pw + i, "\xc3\xa4", 2);
	pw[74] = '\0';
	assert_int_equal(eval(&p, pw), PASSWORD_RULE_TOO_LONG);
	pw[72] = '\0';
	assert_int_equal(eval(&p, pw), 0);
}

static void
test_too_long_argon2_cap(void **state)
{
	struct password_policy	 p;
	char			 pw[1100];

	(void)state;
	password_policy_init(&p, PASSWORD_ARGON2ID);
	memset(pw, 'x', sizeof(pw));
	memcpy(pw, "Ab1!", 4);
	pw[1024] = '\0';
	assert_int_equal(eval(&p, pw), 0);
	pw[1024] = 'x';
	pw[1099] = '\0';
	assert_int_equal(eval(&p, pw), PASSWORD_RULE_TOO_LONG);
}

static void
test_composition_rules(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	assert_int_equal(eval(&p, "tr0ub4dor&3x"), PASSWORD_RULE_NO_UPPER);
	assert_int_equal(eval(&p, "TR0UB4DOR&3X"), PASSWORD_RULE_NO_LOWER);
	assert_int_equal(eval(&p, "Troubador&x!"), PASSWORD_RULE_NO_DIGIT);
	assert_int_equal(eval(&p, "Tr0ub4dor3xy"), PASSWORD_RULE_NO_SPECIAL);
	assert_int_equal(eval(&p, "                "),
	    PASSWORD_RULE_NO_UPPER | PASSWORD_RULE_NO_LOWER |
	    PASSWORD_RULE_NO_DIGIT);
}

/* ASVS 6.2.5: with composition off, passphrases pass as they are. */
static void
test_composition_off(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	p.composition = 0;
	assert_int_equal(eval(&p, "correct horse battery staple"), 0);
	assert_int_equal(eval(&p, "8203948571029384"), 0);
	assert_int_equal(eval(&p, "\xf0\x9f\x90\xb4\xf0\x9f\x94\x8b"
	    "\xf0\x9f\x93\x8e\xf0\x9f\x94\x92\xf0\x9f\x8c\x8a"
	    "\xf0\x9f\x8e\xb8\xf0\x9f\x8d\x8b\xf0\x9f\x9a\xb2"), 0);
}

/* Letters outside ASCII count by their case where C.UTF-8 knows it. */
static void
test_non_ascii_letters(void **state)
{
	struct password_policy	 p = policy();
	unsigned		 r;

	(void)state;
	/* "Ä" upper, "ö" lower, digits and "!" ASCII. */
	r = eval(&p, "\xc3\x84\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6" "12!");
	if (r != 0)
		skip();	/* this system has no C.UTF-8 locale */
	assert_int_equal(r, 0);
	assert_int_equal(eval(&p, "\xc3\xa4\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6" "12!"), PASSWORD_RULE_NO_UPPER);
}

static char *
write_list(const char *text)
{
	char	 tmpl[] = "/tmp/ws-denylist-XXXXXX";
	int	 fd;
	size_t	 n = strlen(text);

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return strdup(tmpl);
}

static void
test_denylist_case_insensitive(void **state)
{
	struct password_denylist	*d = NULL;
	struct password_policy		 p = policy();
	char				*path;

	(void)state;
	path = write_list("# comment\r\nPassword123!\r\n\r\nLetMeIn99!\n"
	    "letmein99!\nsummer2024#");
	assert_int_equal(password_denylist_load(&d, path), 0);
	assert_int_equal(password_denylist_count(d), 3);
	assert_int_equal(password_denylist_contains(d, "password123!"), 1);
	assert_int_equal(password_denylist_contains(d, "PASSWORD123!"), 1);
	assert_int_equal(password_denylist_contains(d, "SUMMER2024#"), 1);
	assert_int_equal(password_denylist_contains(d, "# comment"), 0);
	assert_int_equal(password_denylist_contains(d, "password123"), 0);
	p.denylist = d;
	assert_int_equal(eval(&p, "LETMEIN99!X"), PASSWORD_RULE_NO_LOWER);
	assert_int_equal(eval(&p, "LetMeIn99!"), PASSWORD_RULE_COMMON);
	password_denylist_free(d);
	unlink(path);
	free(path);
}

static void
test_denylist_missing_file(void **state)
{
	struct password_denylist	*d = (void *)1;

	(void)state;
	assert_int_equal(password_denylist_load(&d,
	    "/nonexistent/websands-list"), WS_ERR_NOTFOUND);
	assert_null(d);
	password_denylist_free(NULL);
}

/* The starter list shipped in data/ refuses the ASVS 6.2.4 examples. */
static void
test_shipped_list(void **state)
{
	static const char * const	 common[] = {
		"password", "12345678", "qwertyuiop", "iloveyou1",
		"password123", "Password123", "PASSWORD123", "letmein",
		"welcome1", "admin123", "QwertyUiop", NULL
	};
	struct password_denylist	*d = NULL;
	char				 path[4096];
	size_t				 i;

	(void)state;
	list_path(path, sizeof(path));
	assert_int_equal(password_denylist_load(&d, path), 0);
	assert_true(password_denylist_count(d) >= 300);
	for (i = 0; common[i] != NULL; i++)
		assert_int_equal(password_denylist_contains(d, common[i]), 1);
	assert_int_equal(password_denylist_contains(d,
	    "vexing-Quartz-Lamp-77"), 0);
	password_denylist_free(d);
}

static void
test_context_username(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	assert_int_equal(password_policy_eval(&p, "My-Bobby_T-99",
	    "bobby_t", NULL), PASSWORD_RULE_CONTEXT);
	/* A piece of the username, at least 4 characters, counts too. */
	assert_int_equal(password_policy_eval(&p, "Xx-BOBBY-99",
	    "bobby_t", NULL), PASSWORD_RULE_CONTEXT);
	/* Shorter than 4: not looked for. */
	assert_int_equal(password_policy_eval(&p, "Xx-bob-99!",
	    "bob", NULL), 0);
}

static void
test_context_email(void **state)
{
	struct password_policy	 p = policy();

	(void)state;
	assert_int_equal(password_policy_eval(&p, "Alice.Smith-2024-pass",
	    NULL, "alice.smith@example.com"), PASSWORD_RULE_CONTEXT);
	assert_int_equal(password_policy_eval(&p, "Xx-SMITH-2024!",
	    NULL, "alice.smith@example.com"), PASSWORD_RULE_CONTEXT);
	/* The domain is not the user's own word. */
	assert_int_equal(password_policy_eval(&p, "Xx-Example-2024!",
	    NULL, "al@example.com"), 0);
}

static void
test_context_service_words(void **state)
{
	static const char * const	 words[] = { "acme", NULL };
	struct password_policy		 p = policy();

	(void)state;
	assert_int_equal(eval(&p, "MyWebSands-2024!"),
	    PASSWORD_RULE_CONTEXT);
	assert_int_equal(eval(&p, "SuperADMIN-2024!"),
	    PASSWORD_RULE_CONTEXT);
	p.context_words = words;
	assert_int_equal(eval(&p, "MyWebSands-2024!"), 0);
	assert_int_equal(eval(&p, "I-love-ACME-99"), PASSWORD_RULE_CONTEXT);
}

static void
test_check_reports_messages(void **state)
{
	struct password_policy	 p = policy();
	json_t			*errors, *list;
	const char		*m;

	(void)state;
	errors = json_object();
	assert_int_equal(password_policy_check(&p, "abc", "user1", NULL,
	    errors), WS_ERR_INVALID);
	list = json_object_get(errors, "password");
	assert_true(json_is_array(list));
	/* TOO_SHORT, NO_UPPER, NO_DIGIT, NO_SPECIAL. */
	assert_int_equal(json_array_size(list), 4);
	m = json_string_value(json_array_get(list, 0));
	assert_non_null(m);
	assert_non_null(strstr(m, "at least 8 characters"));
	assert_non_null(strstr(json_string_value(json_array_get(list, 1)),
	    "uppercase"));
	json_decref(errors);
}

static void
test_check_passes_leaves_errors(void **state)
{
	struct password_policy	 p = policy();
	json_t			*errors;

	(void)state;
	errors = json_object();
	assert_int_equal(password_policy_check(&p, "Tr0ub4dor&3x", "user1",
	    "u@example.org", errors), 0);
	assert_int_equal(json_object_size(errors), 0);
	json_decref(errors);
}

static void
test_rule_codes(void **state)
{
	struct password_policy	 p = policy();
	char			 msg[128];

	(void)state;
	assert_string_equal(password_rule_code(PASSWORD_RULE_TOO_SHORT),
	    "TOO_SHORT");
	assert_string_equal(password_rule_code(PASSWORD_RULE_TOO_LONG),
	    "TOO_LONG");
	assert_string_equal(password_rule_code(PASSWORD_RULE_NO_UPPER),
	    "NO_UPPER");
	assert_string_equal(password_rule_code(PASSWORD_RULE_NO_LOWER),
	    "NO_LOWER");
	assert_string_equal(password_rule_code(PASSWORD_RULE_NO_DIGIT),
	    "NO_DIGIT");
	assert_string_equal(password_rule_code(PASSWORD_RULE_NO_SPECIAL),
	    "NO_SPECIAL");
	assert_string_equal(password_rule_code(PASSWORD_RULE_COMMON),
	    "COMMON");
	assert_string_equal(password_rule_code(PASSWORD_RULE_CONTEXT),
	    "CONTEXT");
	assert_string_equal(password_rule_code(PASSWORD_RULE_INVALID_UTF8),
	    "INVALID_UTF8");
	assert_null(password_rule_code((enum password_rule)0x4000));
	assert_int_equal(password_rule_message(&p, PASSWORD_RULE_TOO_LONG,
	    msg, sizeof(msg)), 0);
	assert_string_equal(msg, "must be at most 72 bytes long");
	assert_int_equal(password_rule_message(&p, PASSWORD_RULE_TOO_LONG,
	    msg, 8), WS_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_password_passes),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_length_counts_code_points),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_too_long_bcrypt),
		cmocka_unit_test(test_too_long_counts_bytes),
		cmocka_unit_test(test_too_long_argon2_cap),
		cmocka_unit_test(test_composition_rules),
		cmocka_unit_test(test_composition_off),
		cmocka_unit_test(test_non_ascii_letters),
		cmocka_unit_test(test_denylist_case_insensitive),
		cmocka_unit_test(test_denylist_missing_file),
		cmocka_unit_test(test_shipped_list),
		cmocka_unit_test(test_context_username),
		cmocka_unit_test(test_context_email),
		cmocka_unit_test(test_context_service_words),
		cmocka_unit_test(test_check_reports_messages),
		cmocka_unit_test(test_check_passes_leaves_errors),
		cmocka_unit_test(test_rule_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
