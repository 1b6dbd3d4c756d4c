/*
 * Registration through nginx: the password policy names each rule a
 * password fails, one username goes to one of many parallel callers,
 * and an address that already has an account gets the same answer as
 * a new one while its owner is mailed instead.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_auth.h"

#define PARALLEL	20

/* The messages of common/password_policy.c, as clients see them. */
#define M_SHORT		"must be at least 8 characters long"
#define M_LONG		"must be at most 72 bytes long"
#define M_UPPER		"must contain an uppercase letter"
#define M_LOWER		"must contain a lowercase letter"
#define M_DIGIT		"must contain a digit"
#define M_SPECIAL	"must contain a character that is neither a " \
			    "letter nor a digit"
#define M_COMMON	"is too common; choose one that is harder to guess"
#define M_CONTEXT	"must not contain the username, the email address " \
			    "or the name of the service"

/* POSTs a registration; the reply in r. */
static void
post_register(const char *username, const char *email,
    const char *password, struct itest_resp *r)
{
	json_t	*body;

	/* The log scan skips the short ones, which may occur by chance. */
	itest_auth_secret(password);
	body = json_pack("{s:s,s:s,s:s}", "username", username, "email",
	    email, "password", password);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/register", body,
	    NULL, r), 0);
	json_decref(body);
}

/* Fails unless errors.password holds exactly the messages in want. */
static void
assert_rules(const struct itest_resp *r, const char *password,
    const char * const *want)
{
	json_t		*list, *m;
	size_t		 i, j, n = 0;
	int		 found;

	if (r->status != 400)
		fail_msg("password \"%s\": status %ld: %s", password,
		    r->status, buf_str(&r->body));
	assert_string_equal(itest_auth_code(r), "VALIDATION_FAILED");
	list = json_object_get(json_object_get(r->json, "errors"),
	    "password");
	if (!json_is_array(list))
		fail_msg("password \"%s\": no errors.password in %s",
		    password, buf_str(&r->body));
	for (i = 0; want[i] != NULL; i++) {
		found = 0;
		json_array_foreach(list, j, m)
			if (json_is_string(m) &&
			    strcmp(json_string_value(m), want[i]) == 0)
				found = 1;
		if (!found)
			fail_msg("password \"%s\": \"%s\" missing from %s",
			    password, want[i], buf_str(&r->body));
		n++;
	}
	if (json_array_size(list) != n)
		fail_msg("password \"%s\": wanted %zu messages, got %s",
		    password, n, buf_str(&r->body));
	/* The password itself is never sent back. */
	assert_null(strstr(buf_str(&r->body), password));
}

/* A weak password is refused with one message per failed rule. */
static void
test_register_weak_password(void **state)
{
	struct itest_resp	 r;
	char			 name[ITEST_AUTH_NAME_MAX];
	char			 email[ITEST_AUTH_EMAIL_MAX], pw[200];
	char			 hash[32];
	static const char	*short_rules[] = { M_SHORT, M_UPPER, M_DIGIT,
				    M_SPECIAL, NULL };
	static const char	*upper_only[] = { M_LOWER, M_DIGIT,
				    M_SPECIAL, NULL };
	static const char	*no_upper[] = { M_UPPER, NULL };
	static const char	*no_lower[] = { M_LOWER, NULL };
	static const char	*no_digit[] = { M_DIGIT, NULL };
	static const char	*no_special[] = { M_SPECIAL, NULL };
	static const char	*common[] = { M_COMMON, NULL };
	static const char	*context[] = { M_CONTEXT, NULL };
	static const char	*too_long[] = { M_LONG, NULL };
	/* Six characters in eight bytes: counted as characters. */
	static const char	*unicode_short[] = { M_SHORT, NULL };
	const struct {
		const char	 *pw;
		const char	**want;
	} cases[] = {
		{ "abc", short_rules },
		{ "ABCDEFGHIJ", upper_only },
		{ "qxvbnmzt7!", no_upper },
		{ "QXVBNMZT7!", no_lower },
		{ "Qxvbnmztk!", no_digit },
		{ "Qxvbnmzt77", no_special },
		{ "Password1!", common },
		{ "Zq9!WebSands", context },
		{ "\xc3\x84" "bc1!\xc3\xbc", unicode_short },
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		itest_auth_unique(name, sizeof(name), "regweak");
		snprintf(email, sizeof(email), "%s@example.com", name);
		post_register(name, email, cases[i].pw, &r);
		assert_rules(&r, cases[i].pw, cases[i].want);
		itest_resp_cleanup(&r);
	}

	/* The username inside the password. */
	itest_auth_unique(name, sizeof(name), "regctx");
	snprintf(email, sizeof(email), "%s@example.com", name);
	snprintf(pw, sizeof(pw), "Q7!%s", name);
	post_register(name, email, pw, &r);
	assert_rules(&r, pw, context);
	itest_resp_cleanup(&r);

	/* Past 72 bytes while bcrypt hashes: never truncated silently. */
	if (itest_auth_config("PASSWORD_HASH", hash, sizeof(hash)) == NULL ||
	    strcmp(hash, "bcrypt") == 0) {
		itest_auth_unique(name, sizeof(name), "reglong");
		snprintf(email, sizeof(email), "%s@example.com", name);
		memset(pw, 'x', 73);
		memcpy(pw, "Qz9!", 4);
		pw[73] = '\0';
		post_register(name, email, pw, &r);
		assert_rules(&r, pw, too_long);
		itest_resp_cleanup(&r);
	}
}

/* A strong password of non-ASCII letters passes. */
static void
test_register_unicode_password(void **state)
{
	struct itest_resp	 r;
	char			 name[ITEST_AUTH_NAME_MAX];
	char			 email[ITEST_AUTH_EMAIL_MAX];
	/* "ÄÖÜäöü1!": upper, lower, digit, special, eight characters. */
	const char		*pw = "\xc3\x84\xc3\x96\xc3\x9c\xc3\xa4"
				    "\xc3\xb6\xc3\xbc" "1!";

	(void)state;
	itest_auth_unique(name, sizeof(name), "reguni");
	snprintf(email, sizeof(email), "%s@example.com", name);
	post_register(name, email, pw, &r);
	itest_auth_expect(&r, 201, "unicode password");
	itest_resp_cleanup(&r);
}

struct parallel_run {
	char	 username[ITEST_AUTH_NAME_MAX];
	char	 password[ITEST_AUTH_PASSWORD_MAX];
	long	 status[PARALLEL];
	char	 code[PARALLEL][32];
};

/* One thread's registration; no assertions off the main thread. */
static void
parallel_one(int i, void *arg)
{
	struct parallel_run	*run = arg;
	struct itest_resp	 r;
	char			 body[512];
	int			 n;

	run->status[i] = -1;
	n = snprintf(body, sizeof(body), "{\"username\":\"%s\",\"email\":"
	    "\"%s.%d@example.com\",\"password\":\"%s\"}", run->username,
	    run->username, i, run->password);
	if (n < 0 || (size_t)n >= sizeof(body))
		return;
	if (itest_auth_post("/api/v1/auth/register", body, (size_t)n, NULL,
	    &r) != 0)
		return;
	run->status[i] = r.status;
	snprintf(run->code[i], sizeof(run->code[i]), "%s",
	    itest_auth_code(&r));
	itest_resp_cleanup(&r);
}

/* Twenty registrations of one username at once: one 201, 409s. */
static void
test_register_parallel_username(void **state)
{
	struct parallel_run	 run;
	int			 i, created = 0, taken = 0;

	(void)state;
	memset(&run, 0, sizeof(run));
	itest_auth_unique(run.username, sizeof(run.username), "regpar");
	itest_auth_password(run.password, sizeof(run.password));
	itest_auth_parallel(PARALLEL, parallel_one, &run);
	for (i = 0; i < PARALLEL; i++) {
		if (run.status[i] == 201)
			created++;
		else if (run.status[i] == 409 &&
		    strcmp(run.code[i], "USERNAME_TAKEN") == 0)
			taken++;
		else
			fail_msg("registration %d: status %ld code %s", i,
			    run.status[i], run.code[i]);
	}
	print_message("parallel: %d created, %d taken\n", created, taken);
	assert_int_equal(created, 1);
	assert_int_equal(taken, PARALLEL - 1);
}

/* A taken username is 409, in any case. */
static void
test_register_username_taken(void **state)
{
	struct itest_user	 u;
	struct itest_resp	 r;
	char			 upper[ITEST_AUTH_NAME_MAX];
	char			 email[ITEST_AUTH_EMAIL_MAX + 8];
	char			 pw[ITEST_AUTH_PASSWORD_MAX];
	size_t			 i;

	(void)state;
	itest_auth_register(&u, "regtaken");
	itest_auth_password(pw, sizeof(pw));
	assert_true(snprintf(email, sizeof(email), "other.%s", u.email) <
	    (int)sizeof(email));
	post_register(u.username, email, pw, &r);
	itest_auth_expect(&r, 409, "same username");
	assert_string_equal(itest_auth_code(&r), "USERNAME_TAKEN");
	itest_resp_cleanup(&r);
	for (i = 0; u.username[i] != '\0'; i++)
		upper[i] = (char)toupper((unsigned char)u.username[i]);
	upper[i] = '\0';
	post_register(upper, email, pw, &r);
	itest_auth_expect(&r, 409, "same username in upper case");
	itest_resp_cleanup(&r);
}

/* Fails unless a and b have the same members of the same types. */
static void
assert_same_shape(json_t *a, json_t *b)
{
	const char	*k;
	json_t		*v;

	assert_int_equal(json_object_size(a), json_object_size(b));
	json_object_foreach(a, k, v) {
		if (json_object_get(b, k) == NULL)
			fail_msg("member %s only in one reply", k);
		assert_int_equal(json_typeof(v),
		    json_typeof(json_object_get(b, k)));
	}
}

static void
upper_case(char *out, size_t len, const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = '\0';
}

/*
 * An address that has an account answers 201 like a new one, creates
 * nothing, and mails its owner a notice instead of a verification.
 */
static void
test_register_existing_email(void **state)
{
	struct itest_user	 owner;
	struct itest_resp	 r_new, r_dup;
	char			 name_new[ITEST_AUTH_NAME_MAX];
	char			 name_dup[ITEST_AUTH_NAME_MAX];
	char			 email_new[ITEST_AUTH_EMAIL_MAX];
	char			 upper[ITEST_AUTH_EMAIL_MAX], pw[64];
	char			 ct_new[128], ct_dup[128];

	(void)state;
	itest_auth_register(&owner, "regowner");
	/* The owner's own verification is read and used first. */
	itest_auth_verify(&owner);

	/* The same kind of request for a new address, to compare with. */
	itest_auth_unique(name_new, sizeof(name_new), "regfresh");
	snprintf(email_new, sizeof(email_new), "%s@example.com", name_new);
	upper_case(upper, sizeof(upper), email_new);
	itest_auth_password(pw, sizeof(pw));
	post_register(name_new, upper, pw, &r_new);
	itest_auth_expect(&r_new, 201, "new address");

	itest_auth_unique(name_dup, sizeof(name_dup), "regdup");
	upper_case(upper, sizeof(upper), owner.email);
	itest_auth_password(pw, sizeof(pw));
	post_register(name_dup, upper, pw, &r_dup);
	itest_auth_expect(&r_dup, 201, "taken address");

	assert_same_shape(r_new.json, r_dup.json);
	assert_string_equal(json_string_value(json_object_get(r_dup.json,
	    "username")), name_dup);
	assert_string_equal(json_string_value(json_object_get(r_dup.json,
	    "email")), owner.email);
	assert_string_equal(json_string_value(json_object_get(r_new.json,
	    "email")), email_new);
	assert_false(json_is_true(json_object_get(r_dup.json,
	    "email_verified")));
	assert_string_equal(json_string_value(json_object_get(r_dup.json,
	    "role")), "user");
	assert_string_not_equal(json_string_value(json_object_get(
	    r_dup.json, "id")), owner.id);
	assert_int_equal(strlen(json_string_value(json_object_get(
	    r_dup.json, "id"))), 36);
	assert_non_null(itest_header(&r_new, "Content-Type", ct_new,
	    sizeof(ct_new)));
	assert_non_null(itest_header(&r_dup, "Content-Type", ct_dup,
	    sizeof(ct_dup)));
	assert_string_equal(ct_new, ct_dup);

	/* The owner gets the notice, and no second verification. */
	if (itest_auth_mail(owner.email, "/password/forgot",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0) != 0)
		fail_msg("no register_existing mail to %s", owner.email);
	itest_auth_sleep_ms(300);
	assert_int_equal(itest_auth_mail_count(owner.email,
	    "/verify-email#token="), 1);
	assert_int_equal(itest_auth_mail_count(owner.email, NULL), 2);
	/* The new address got its verification. */
	if (itest_auth_mail(email_new, "/verify-email#token=",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0) != 0)
		fail_msg("no verification mail to %s", email_new);

	/* No account was made: the username is still free. */
	itest_resp_cleanup(&r_dup);
	snprintf(upper, sizeof(upper), "%s@example.com", name_dup);
	post_register(name_dup, upper, pw, &r_dup);
	itest_auth_expect(&r_dup, 201, "the duplicate's username");
	itest_resp_cleanup(&r_dup);
	itest_resp_cleanup(&r_new);
}

/* The reply describes the account and holds no secret. */
static void
test_register_reply(void **state)
{
	struct itest_resp	 r;
	char			 name[ITEST_AUTH_NAME_MAX];
	char			 email[ITEST_AUTH_EMAIL_MAX];
	char			 pw[ITEST_AUTH_PASSWORD_MAX];
	json_t			*body;

	(void)state;
	itest_auth_unique(name, sizeof(name), "regreply");
	snprintf(email, sizeof(email), "%s@example.com", name);
	itest_auth_password(pw, sizeof(pw));
	body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "username", name, "email",
	    email, "password", pw, "first_name", "Ada", "last_name",
	    "Lovelace");
	assert_int_equal(itest_auth_post_json("/api/v1/auth/register", body,
	    NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 201, "register");
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "username")), name);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "first_name")), "Ada");
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "last_name")), "Lovelace");
	assert_true(json_is_false(json_object_get(r.json,
	    "email_verified")));
	assert_non_null(json_string_value(json_object_get(r.json,
	    "created_at")));
	assert_null(json_object_get(r.json, "password"));
	assert_null(json_object_get(r.json, "password_hash"));
	assert_null(strstr(buf_str(&r.body), pw));
	itest_resp_cleanup(&r);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_register_weak_password),
		cmocka_unit_test(test_register_unicode_password),
		cmocka_unit_test(test_register_parallel_username),
		cmocka_unit_test(test_register_username_taken),
		cmocka_unit_test(test_register_existing_email),
		cmocka_unit_test(test_register_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
