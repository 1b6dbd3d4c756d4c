/*
 * Unit tests of the mail templates: the names and locales accepted,
 * loading with fallback, and the escaping of every value for the part
 * it lands in, links included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "mail_template.h"

#ifndef WEBSANDS_TEMPLATE_DIR
#define WEBSANDS_TEMPLATE_DIR	"templates"
#endif

/* A scratch template directory, made per test that needs one. */
static char	 tmpdir[64];

static void
write_file(const char *locale, const char *file, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, locale);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s", tmpdir, locale, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Writes a whole set: subject, text and HTML. */
static void
write_set(const char *locale, const char *name, const char *subject,
    const char *text, const char *html)
{
	char	 file[128];

	snprintf(file, sizeof(file), "%s.subject", name);
	write_file(locale, file, subject);
	snprintf(file, sizeof(file), "%s.txt", name);
	write_file(locale, file, text);
	snprintf(file, sizeof(file), "%s.html", name);
	write_file(locale, file, html);
}

static int
tmp_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ws-mailtpl-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* Removes dir and what it holds, down to the given depth. */
static int
rm_tree(const char *dir, int depth)
{
	struct dirent	*e;
	DIR		*d;
	char		 path[512];

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0 && depth > 0)
			rm_tree(path, depth - 1);
	}
	closedir(d);
	return rmdir(dir);
}

static int
tmp_teardown(void **state)
{
	(void)state;
	return rm_tree(tmpdir, 1);
}

/* Expands one template string for ctx with vars given as JSON text. */
static int
expand(const char *tmpl, enum mail_ctx ctx, const char *vars_json,
    struct buf *out)
{
	json_t	*vars = NULL;
	int	 rc;

	if (vars_json != NULL) {
		vars = json_loads(vars_json, JSON_ALLOW_NUL, NULL);
		assert_non_null(vars);
	}
	buf_init(out, 0);
	rc = mail_template_expand(tmpl, ctx, vars, NULL, NULL, out);
	json_decref(vars);
	return rc;
}

static void
test_known_names(void **state)
{
	const char * const	*n;
	size_t			 count = 0;

	(void)state;
	for (n = mail_template_names(); *n != NULL; n++, count++)
		assert_true(mail_template_known(*n));
	assert_int_equal(count, 10);
	assert_true(mail_template_known("verify_email"));
	assert_true(mail_template_known("new_signin_after_failures"));
	assert_false(mail_template_known("Verify_email"));
	assert_false(mail_template_known("../en/verify_email"));
	assert_false(mail_template_known("verify_email "));
	assert_false(mail_template_known(""));
	assert_false(mail_template_known(NULL));
}

static void
test_locale_valid(void **state)
{
	(void)state;
	assert_true(mail_template_locale_valid("en"));
	assert_true(mail_template_locale_valid("de"));
	assert_true(mail_template_locale_valid("fil"));
	assert_true(mail_template_locale_valid("pt-BR"));
	assert_true(mail_template_locale_valid("pt_BR"));
	assert_true(mail_template_locale_valid("zh-Hant"));
	assert_false(mail_template_locale_valid("e"));
	assert_false(mail_template_locale_valid("EN"));
	assert_false(mail_template_locale_valid("english"));
	assert_false(mail_template_locale_valid("en-"));
	assert_false(mail_template_locale_valid("en-B"));
	assert_false(mail_template_locale_valid("../en"));
	assert_false(mail_template_locale_valid("en/../../etc"));
	assert_false(mail_template_locale_valid("en-US/x"));
	assert_false(mail_template_locale_valid(""));
	assert_false(mail_template_locale_valid(NULL));
}

static void
test_link_path_valid(void **state)
{
	char	 longp[MAIL_TEMPLATE_LINK_MAX + 2];

	(void)state;
	assert_true(mail_template_link_path_valid("/"));
	assert_true(mail_template_link_path_valid(
	    "/verify-email#token=AbC_-123"));
	assert_true(mail_template_link_path_valid(
	    "/reset?token=a%2Fb&lang=de"));
	assert_false(mail_template_link_path_valid("//evil.example/x"));
	assert_false(mail_template_link_path_valid("https://evil.example"));
	assert_false(mail_template_link_path_valid("verify"));
	assert_false(mail_template_link_path_valid(""));
	assert_false(mail_template_link_path_valid("/a b"));
	assert_false(mail_template_link_path_valid("/a\"onclick=x"));
	assert_false(mail_template_link_path_valid("/a'b"));
	assert_false(mail_template_link_path_valid("/a<b>"));
	assert_false(mail_template_link_path_valid("/a\\b"));
	assert_false(mail_template_link_path_valid("/a\r\nBcc: x"));
	assert_false(mail_template_link_path_valid("/caf\xc3\xa9"));
	assert_false(mail_template_link_path_valid(NULL));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_false(mail_template_link_path_valid(longp));
	longp[MAIL_TEMPLATE_LINK_MAX] = '\0';
	assert_true(mail_template_link_path_valid(longp));
}

static void
test_every_shipped_template_loads(void **state)
{
	const char * const	*n;
	struct mail_template	 t;

	(void)state;
	for (n = mail_template_names(); *n != NULL; n++) {
		assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
		    *n, "en"), 0);
		assert_string_equal(t.locale, "en");
		assert_string_equal(t.name, *n);
		assert_true(strlen(t.subject) > 0);
		assert_null(strpbrk(t.subject, "\r\n"));
		assert_non_null(strstr(t.text, "{{username}}"));
		assert_non_null(strstr(t.html, "<html"));
		mail_template_cleanup(&t);
	}
}

static void
test_shipped_fallback_to_en(void **state)
{
	struct mail_template	 t;

	(void)state;
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", "de"), 0);
	assert_string_equal(t.locale, "de");
	mail_template_cleanup(&t);
	/* A region falls back to its language first. */
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", "de-AT"), 0);
	assert_string_equal(t.locale, "de");
	mail_template_cleanup(&t);
	/* German has no password_reset: English it is. */
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "password_reset", "de"), 0);
	assert_string_equal(t.locale, "en");
	mail_template_cleanup(&t);
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", "fr"), 0);
	assert_string_equal(t.locale, "en");
	mail_template_cleanup(&t);
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", NULL), 0);
	assert_string_equal(t.locale, "en");
	mail_template_cleanup(&t);
}

static void
test_load_refuses_bad_names(void **state)
{
	struct mail_template	 t;

	(void)state;
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "no_such_mail", "en"), WS_ERR_INVALID);
	assert_null(t.subject);
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", "../../etc"), WS_ERR_INVALID);
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "../verify_email", "en"), WS_ERR_INVALID);
	mail_template_cleanup(&t);
	mail_template_cleanup(NULL);
}

static void
test_incomplete_set_falls_back_whole(void **state)
{
	struct mail_template	 t;

	(void)state;
	write_set("en", "verify_email", "Hello\n", "en text\n", "<p>en</p>");
	/* A German set with a subject only is no set at all. */
	write_file("de", "verify_email.subject", "Hallo\n");
	assert_int_equal(mail_template_load(&t, tmpdir, "verify_email",
	    "de"), 0);
	assert_string_equal(t.locale, "en");
	assert_string_equal(t.subject, "Hello");
	assert_string_equal(t.text, "en text\n");
	assert_string_equal(t.html, "<p>en</p>");
	mail_template_cleanup(&t);
}

static void
test_missing_everywhere_is_notfound(void **state)
{
	struct mail_template	 t;

	(void)state;
	assert_int_equal(mail_template_load(&t, tmpdir, "mfa_enabled",
	    "de"), WS_ERR_NOTFOUND);
	assert_null(t.subject);
	assert_null(t.text);
	assert_null(t.html);
}

static void
test_subject_of_two_lines_refused(void **state)
{
	struct mail_template	 t;

	(void)state;
	write_set("en", "mfa_enabled", "One\nBcc: x@example.org\n", "t",
	    "h");
	assert_int_equal(mail_template_load(&t, tmpdir, "mfa_enabled",
	    "en"), WS_ERR_INVALID);
	assert_null(t.subject);
}

static void
test_file_not_utf8_refused(void **state)
{
	struct mail_template	 t;

	(void)state;
	write_set("en", "mfa_disabled", "Subject\n", "caf\xe9\n", "h");
	assert_int_equal(mail_template_load(&t, tmpdir, "mfa_disabled",
	    "en"), WS_ERR_INVALID);
	/* A broken German file is an error, not a silent fallback. */
	write_set("en", "mfa_disabled", "Subject\n", "fine\n", "h");
	write_set("de", "mfa_disabled", "Betreff\n", "\xc0\xaf\n", "h");
	assert_int_equal(mail_template_load(&t, tmpdir, "mfa_disabled",
	    "de"), WS_ERR_INVALID);
	write_set("de", "mfa_disabled", "Betreff\n", "gr\xc3\xbc\xc3\x9f\n",
	    "h");
	assert_int_equal(mail_template_load(&t, tmpdir, "mfa_disabled",
	    "de"), 0);
	assert_string_equal(t.locale, "de");
	mail_template_cleanup(&t);
}

static void
test_html_escapes_values(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("<p>Hello {{username}}</p>", MAIL_CTX_HTML,
	    "{\"username\":\"<script>alert(\\\"x\\\")</script>&'\"}", &out),
	    0);
	assert_string_equal(buf_str(&out), "<p>Hello &lt;script&gt;alert("
	    "&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>");
	buf_cleanup(&out);
}

static void
test_text_keeps_value_but_folds_lines(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("Hi {{username}}!", MAIL_CTX_TEXT,
	    "{\"username\":\"<b>Bob</b>\\r\\nBcc: evil@example.org\\n\\t&\"}",
	    &out), 0);
	assert_string_equal(buf_str(&out),
	    "Hi <b>Bob</b>  Bcc: evil@example.org \t&!");
	buf_cleanup(&out);
}

static void
test_subject_drops_controls(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("Welcome, {{username}}", MAIL_CTX_SUBJECT,
	    "{\"username\":\"Bob\\r\\nBcc: x@example.org\\u0000\\t\\u007f"
	    "\\u0085<&>\"}", &out), 0);
	assert_string_equal(buf_str(&out),
	    "Welcome, BobBcc: x@example.org<&>");
	assert_null(strpbrk(buf_str(&out), "\r\n\t"));
	buf_cleanup(&out);
}

static void
test_values_substituted_once(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("{{a}}|{{b}}", MAIL_CTX_TEXT,
	    "{\"a\":\"{{b}} %s %n %x\",\"b\":\"B\"}", &out), 0);
	assert_string_equal(buf_str(&out), "{{b}} %s %n %x|B");
	buf_cleanup(&out);
}

static void
test_absent_and_odd_placeholders(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("[{{missing}}][{{ a }}][{{A}}][{{a}][{{}}]"
	    "[{{{a}}}][{{a}}]", MAIL_CTX_TEXT, "{\"a\":\"x\"}", &out), 0);
	assert_string_equal(buf_str(&out),
	    "[][{{ a }}][{{A}}][{{a}][{{}}][{x}][x]");
	buf_cleanup(&out);
	assert_int_equal(expand("end {{", MAIL_CTX_TEXT, NULL, &out), 0);
	assert_string_equal(buf_str(&out), "end {{");
	buf_cleanup(&out);
}

static void
test_value_kinds(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("{{i}} {{r}} {{t}} {{f}} [{{n}}] [{{o}}] "
	    "[{{l}}]", MAIL_CTX_TEXT, "{\"i\":-42,\"r\":2.5,\"t\":true,"
	    "\"f\":false,\"n\":null,\"o\":{\"x\":1},\"l\":[1]}", &out), 0);
	assert_string_equal(buf_str(&out), "-42 2.5 true false [] [] []");
	buf_cleanup(&out);
}

static void
test_value_too_big(void **state)
{
	struct buf	 out;
	json_t		*vars;
	char		*big;

	(void)state;
	big = malloc(MAIL_TEMPLATE_VALUE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', MAIL_TEMPLATE_VALUE_MAX + 1);
	big[MAIL_TEMPLATE_VALUE_MAX + 1] = '\0';
	vars = json_pack("{s:s}", "a", big);
	buf_init(&out, 0);
	assert_int_equal(mail_template_expand("{{a}}", MAIL_CTX_TEXT, vars,
	    NULL, NULL, &out), WS_ERR_TOOBIG);
	buf_cleanup(&out);
	json_decref(vars);
	free(big);
}

static void
test_vars_must_be_object(void **state)
{
	struct buf	 out;

	(void)state;
	assert_int_equal(expand("{{a}}", MAIL_CTX_TEXT, "[1,2]", &out),
	    WS_ERR_INVALID);
	buf_cleanup(&out);
}

/* A template set held in memory, for the render tests. */
static void
mem_template(struct mail_template *t, const char *subject,
    const char *text, const char *html)
{
	memset(t, 0, sizeof(*t));
	t->subject = strdup(subject);
	t->text = strdup(text);
	t->html = strdup(html);
	assert_non_null(t->subject);
	assert_non_null(t->text);
	assert_non_null(t->html);
}

static int
render(const char *vars_json, const char *public_url,
    struct mail_rendered *r)
{
	struct mail_template	 t;
	json_t			*vars;
	int			 rc;

	mem_template(&t, "Hi {{username}}", "Go to {{link}} ({{public_url}})",
	    "<a href=\"{{link}}\">{{username}}</a>");
	vars = json_loads(vars_json, 0, NULL);
	assert_non_null(vars);
	rc = mail_template_render(&t, vars, public_url, r);
	json_decref(vars);
	mail_template_cleanup(&t);
	return rc;
}

static void
test_link_built_from_public_url(void **state)
{
	struct mail_rendered	 r;

	(void)state;
	assert_int_equal(render("{\"username\":\"ada\",\"link_path\":"
	    "\"/verify-email#token=ab&c=d\"}", "https://auth.example.org/",
	    &r), 0);
	assert_string_equal(r.subject, "Hi ada");
	assert_string_equal(r.text, "Go to https://auth.example.org/"
	    "verify-email#token=ab&c=d (https://auth.example.org)");
	assert_string_equal(r.html, "<a href=\"https://auth.example.org/"
	    "verify-email#token=ab&amp;c=d\">ada</a>");
	mail_rendered_cleanup(&r);
	mail_rendered_cleanup(NULL);
}

static void
test_link_value_in_vars_ignored(void **state)
{
	struct mail_rendered	 r;

	(void)state;
	/* A caller cannot name the host through "link" or "public_url". */
	assert_int_equal(render("{\"username\":\"ada\",\"link\":"
	    "\"https://evil.example/\",\"public_url\":\"https://evil\"}",
	    "https://auth.example.org", &r), 0);
	assert_string_equal(r.text, "Go to  (https://auth.example.org)");
	assert_null(strstr(r.html, "evil"));
	mail_rendered_cleanup(&r);
}

static void
test_bad_link_path_refused(void **state)
{
	struct mail_rendered	 r;

	(void)state;
	assert_int_equal(render("{\"link_path\":\"//evil.example/x\"}",
	    "https://auth.example.org", &r), WS_ERR_INVALID);
	assert_null(r.subject);
	assert_int_equal(render("{\"link_path\":\"/x\\\" onmouseover=\\\"\"}",
	    "https://auth.example.org", &r), WS_ERR_INVALID);
	assert_int_equal(render("{\"link_path\":42}",
	    "https://auth.example.org", &r), WS_ERR_INVALID);
	/* No PUBLIC_URL, no link. */
	assert_int_equal(render("{\"link_path\":\"/ok\"}", NULL, &r),
	    WS_ERR_INVALID);
	assert_int_equal(render("{\"link_path\":\"/ok\"}",
	    "javascript:alert(1)", &r), WS_ERR_INVALID);
	assert_int_equal(render("{\"link_path\":\"/ok\"}",
	    "https://a.example\"onclick", &r), WS_ERR_INVALID);
}

static void
test_render_shipped_template(void **state)
{
	struct mail_template	 t;
	struct mail_rendered	 r;
	json_t			*vars;

	(void)state;
	assert_int_equal(mail_template_load(&t, WEBSANDS_TEMPLATE_DIR,
	    "verify_email", "de"), 0);
	vars = json_pack("{s:s,s:s}", "username", "<Jürgen>", "link_path",
	    "/verify-email#token=T0k3n");
	assert_int_equal(mail_template_render(&t, vars,
	    "http://127.0.0.1:8080", &r), 0);
	assert_non_null(strstr(r.text, "Hallo <Jürgen>,"));
	assert_non_null(strstr(r.text,
	    "http://127.0.0.1:8080/verify-email#token=T0k3n"));
	assert_non_null(strstr(r.html, "Hallo &lt;Jürgen&gt;,"));
	assert_non_null(strstr(r.html,
	    "href=\"http://127.0.0.1:8080/verify-email#token=T0k3n\""));
	assert_null(strstr(r.html, "{{"));
	assert_null(strstr(r.text, "{{"));
	mail_rendered_cleanup(&r);
	mail_template_cleanup(&t);
	json_decref(vars);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_names),
		cmocka_unit_test(test_locale_valid),
		cmocka_unit_test(test_link_path_valid),
		cmocka_unit_test(test_every_shipped_template_loads),
		cmocka_unit_test(test_shipped_fallback_to_en),
		cmocka_unit_test(test_load_refuses_bad_names),
		cmocka_unit_test_setup_teardown(
		    test_incomplete_set_falls_back_whole, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_everywhere_is_notfound, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(
		    test_subject_of_two_lines_refused, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_file_not_utf8_refused,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_html_escapes_values),
		cmocka_unit_test(test_text_keeps_value_but_folds_lines),
		cmocka_unit_test(test_subject_drops_controls),
		cmocka_unit_test(test_values_substituted_once),
		cmocka_unit_test(test_absent_and_odd_placeholders),
		cmocka_unit_test(test_value_kinds),
		cmocka_unit_test(test_value_too_big),
		cmocka_unit_test(test_vars_must_be_object),
		cmocka_unit_test(test_link_built_from_public_url),
		cmocka_unit_test(test_link_value_in_vars_ignored),
		cmocka_unit_test(test_bad_link_path_refused),
		cmocka_unit_test(test_render_shipped_template),
	};

	/* The absent placeholders are logged; only errors matter here. */
	log_init("test_mail_template", LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
