/*
 * Mail templates (design.md 9).  A template set is three files under
 * TEMPLATE_DIR/<locale>/: <name>.subject (one line), <name>.txt and
 * <name>.html.  A locale without the set falls back to its language
 * ("pt-BR" to "pt") and then to "en".
 *
 * Placeholders are {{name}}, name being [a-z0-9_]{1,64}.  Each is
 * replaced by the value of that key in a JSON object of values,
 * escaped for where it lands:
 *   subject  every control character (CR, LF, TAB, DEL, C1) removed;
 *   text     CR and LF become spaces, other controls but TAB removed;
 *   html     as text, then & < > " ' written as entities.
 * Strings are used as they are, numbers and booleans as their JSON
 * text, null as nothing; an object, an array or a key that is absent
 * renders as nothing and is logged.  The template is scanned once, so
 * a value holding "{{x}}" or "%s" stays literal.
 *
 * Links.  Two names are the renderer's own and a value of the same
 * name is ignored:
 *   {{public_url}}  PUBLIC_URL without its trailing slash;
 *   {{link}}        PUBLIC_URL + the value of "link_path", a path that
 *                   starts with one "/" and holds only URL characters
 *                   (see mail_template_link_path_valid).
 * A link therefore always points at the configured site: a caller
 * gives a path such as "/verify-email#token=...", never a host, and
 * nothing taken from a request's Host header can reach a mail.
 */
#ifndef WEBSANDS_MAIL_TEMPLATE_H
#define WEBSANDS_MAIL_TEMPLATE_H

#include <stddef.h>
#include <jansson.h>

#include "buf.h"

#define MAIL_TEMPLATE_NAME_MAX	64
#define MAIL_TEMPLATE_LOCALE_MAX 16
#define MAIL_TEMPLATE_FILE_MAX	(64 * 1024)	/* bytes per file */
#define MAIL_TEMPLATE_VALUE_MAX	4096		/* bytes per value */
#define MAIL_TEMPLATE_OUT_MAX	(256 * 1024)	/* bytes per part */
#define MAIL_TEMPLATE_LINK_MAX	2048		/* bytes of link_path */

enum mail_ctx {
	MAIL_CTX_SUBJECT = 0,
	MAIL_CTX_TEXT,
	MAIL_CTX_HTML
};

/* One loaded template set; the strings are owned by the struct. */
struct mail_template {
	char	*subject;	/* one line, without its newline */
	char	*text;
	char	*html;
	char	 name[MAIL_TEMPLATE_NAME_MAX + 1];
	char	 locale[MAIL_TEMPLATE_LOCALE_MAX + 1]; /* the one used */
};

/* A rendered message; the strings are owned by the struct. */
struct mail_rendered {
	char	*subject;
	char	*text;
	char	*html;
};

/*
 * 1 if name is one of the templates WebSands sends (verify_email,
 * password_reset, ...), else 0.  Any name that is not [a-z_]+ is not.
 */
int	 mail_template_known(const char *name);
/* The known names, NULL-terminated; static. */
const char * const *mail_template_names(void);
/* 1 if locale looks like "en", "de", "pt-BR" or "pt_BR", else 0. */
int	 mail_template_locale_valid(const char *locale);
/*
 * 1 if path may follow PUBLIC_URL in a link: it starts with "/" but
 * not "//", is at most MAIL_TEMPLATE_LINK_MAX bytes, and holds only
 * letters, digits and - . _ ~ ! $ & * + , ; = : @ / ? # %.
 */
int	 mail_template_link_path_valid(const char *path);

/*
 * Loads the set name for locale (NULL: "en") from dir into t, falling
 * back as above; t->locale says which locale was used.  Every file
 * must be valid UTF-8 without NUL and at most MAIL_TEMPLATE_FILE_MAX
 * bytes; the subject must be one line.  Returns 0, WS_ERR_INVALID (an
 * unknown name, a malformed locale or a malformed file), WS_ERR_NOTFOUND
 * (no complete set, not even in "en"), WS_ERR_TOOBIG, WS_ERR_IO or
 * WS_ERR_NOMEM; t is empty then.  Free with mail_template_cleanup.
 */
int	 mail_template_load(struct mail_template *t, const char *dir,
	    const char *name, const char *locale);
/* Frees what t holds and leaves it empty; NULL-safe. */
void	 mail_template_cleanup(struct mail_template *t);

/*
 * Renders t with vars (a JSON object, or NULL for none) and public_url
 * (PUBLIC_URL; needed only when vars has "link_path") into out, free
 * with mail_rendered_cleanup.  Returns 0, WS_ERR_INVALID (vars not an
 * object, a malformed link_path, a link without a public_url),
 * WS_ERR_TOOBIG (a value or a part over its limit) or WS_ERR_NOMEM;
 * out is empty then.
 */
int	 mail_template_render(const struct mail_template *t,
	    const json_t *vars, const char *public_url,
	    struct mail_rendered *out);
/* Wipes (links may carry tokens) and frees what r holds; NULL-safe. */
void	 mail_rendered_cleanup(struct mail_rendered *r);

/*
 * Expands the placeholders of one template string tmpl for context
 * ctx, appending to out.  link and public_url are the values of
 * {{link}} and {{public_url}} (NULL: empty).  Returns as
 * mail_template_render; out may hold part of the text on error.
 */
int	 mail_template_expand(const char *tmpl, enum mail_ctx ctx,
	    const json_t *vars, const char *link, const char *public_url,
	    struct buf *out);

#endif
