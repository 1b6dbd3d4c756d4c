/*
 * SMTP through libcurl: one easy handle, so consecutive sends share a
 * connection, set up again from scratch after any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "error.h"
#include "mail_message.h"
#include "mailer.h"

struct smtp {
	const struct mailer_config *cfg;
	CURL		*curl;
	char		 errbuf[CURL_ERROR_SIZE];
};

struct upload {
	const char	*data;
	size_t		 len;
	size_t		 off;
};

static size_t
upload_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload	*u = arg;
	size_t		 n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(dst, u->data + u->off, n);
	u->off += n;
	return n;
}

int
smtp_new(struct smtp **out, const struct mailer_config *cfg)
{
	struct smtp	*s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return WS_ERR_NOMEM;
	s->cfg = cfg;
	*out = s;
	return 0;
}

void
smtp_close(struct smtp *s)
{
	if (s == NULL || s->curl == NULL)
		return;
	/* Cleaning up the handle says QUIT on its open connection. */
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
}

void
smtp_free(struct smtp *s)
{
	if (s == NULL)
		return;
	smtp_close(s);
	free(s);
}

/* Makes the handle with every option that does not change per mail. */
static int
smtp_setup(struct smtp *s)
{
	const struct mailer_config	*cfg = s->cfg;
	const char			*host;
	char				 from[MAIL_ADDR_MAX + 3], url[1400];
	CURL				*c;
	CURLcode			 e = CURLE_OK;
	long				 connect_s;
	int				 n;

	if (s->curl != NULL)
		return 0;
	/* libcurl says EHLO with the URL's path, or "localhost" without
	 * one; the domain of MAIL_FROM is a better name to give. */
	host = strstr(cfg->smtp_url, "://");
	if (host != NULL && strchr(host + 3, '/') == NULL)
		n = snprintf(url, sizeof(url), "%s/%s", cfg->smtp_url,
		    strchr(cfg->mail_from, '@') + 1);
	else
		n = snprintf(url, sizeof(url), "%s", cfg->smtp_url);
	if (n < 0 || (size_t)n >= sizeof(url))
		return WS_ERR_TOOBIG;
	if ((c = curl_easy_init()) == NULL)
		return WS_ERR_NOMEM;
	snprintf(from, sizeof(from), "<%s>", cfg->mail_from);
	connect_s = cfg->smtp_timeout_s < 10 ? cfg->smtp_timeout_s : 10;

#define SET(opt, val) do {						\
	if (e == CURLE_OK)						\
		e = curl_easy_setopt(c, opt, val);			\
} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* Required TLS means STARTTLS must succeed on smtp://; smtps://
	 * speaks TLS from the start.  Peers are always verified. */
	SET(CURLOPT_USE_SSL, cfg->smtp_tls == MAILER_TLS_OFF ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp_user != NULL && cfg->smtp_user[0] != '\0') {
		SET(CURLOPT_USERNAME, cfg->smtp_user);
		SET(CURLOPT_PASSWORD, cfg->smtp_password != NULL ?
		    cfg->smtp_password : "");
	}
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, upload_read);
	SET(CURLOPT_TIMEOUT, cfg->smtp_timeout_s);
	SET(CURLOPT_CONNECTTIMEOUT, connect_s);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
#undef SET
	if (e != CURLE_OK) {
		curl_easy_cleanup(c);
		return WS_ERR_INTERNAL;
	}
	s->curl = c;
	return 0;
}

/*
 * A failure that is not about the message: no SMTP reply at all (no
 * connection, no greeting), the server closing down (421), or the
 * server refusing the mailer itself through TLS or authentication
 * (530, 534, 535, 538).
 */
static int
smtp_server_fault(CURLcode e, long code)
{
	switch (e) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_LOGIN_DENIED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return 1;
	default:
		break;
	}
	return code == 0 || code == 421 || code == 530 || code == 534 ||
	    code == 535 || code == 538;
}

/*
 * Writes curl's message and the reply code into r->error as one line,
 * with any occurrence of the password masked, in case a server echoes
 * it back in a reply that curl quotes.
 */
static void
smtp_describe(struct smtp *s, CURLcode e, struct smtp_result *r)
{
	const char	*pw = s->cfg->smtp_password, *msg;
	char		*p, *hit;
	size_t		 pwlen;

	msg = s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(e);
	snprintf(r->error, sizeof(r->error), "smtp %ld: %s (curl %d)",
	    r->code, msg, (int)e);
	for (p = r->error; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	if (pw == NULL || (pwlen = strlen(pw)) == 0)
		return;
	for (p = r->error; (hit = strstr(p, pw)) != NULL; p = hit + pwlen)
		memset(hit, '*', pwlen);
}

int
smtp_send(struct smtp *s, const char *to, const char *msg, size_t len,
    struct smtp_result *r)
{
	struct curl_slist	*rcpt = NULL, *tmp;
	struct upload		 u;
	char			 addr[MAIL_ADDR_MAX + 3];
	CURLcode		 e;
	int			 rc = WS_ERR_UNAVAILABLE;

	memset(r, 0, sizeof(*r));
	if (!mail_message_addr_valid(to)) {
		r->permanent = 1;
		snprintf(r->error, sizeof(r->error), "invalid recipient");
		return WS_ERR_INVALID;
	}
	if ((rc = smtp_setup(s)) != 0) {
		snprintf(r->error, sizeof(r->error), "smtp: cannot set up "
		    "libcurl: %s", ws_err_name(rc));
		return WS_ERR_UNAVAILABLE;
	}
	snprintf(addr, sizeof(addr), "<%s>", to);
	if ((tmp = curl_slist_append(NULL, addr)) == NULL) {
		snprintf(r->error, sizeof(r->error), "smtp: out of memory");
		return WS_ERR_NOMEM;
	}
	rcpt = tmp;
	u.data = msg;
	u.len = len;
	u.off = 0;
	s->errbuf[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);

	e = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->code);
	/* The handle must not keep pointers into this frame. */
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, NULL);
	if (e == CURLE_OK) {
		r->sent = 1;
		rc = 0;
	} else {
		r->server_fault = smtp_server_fault(e, r->code);
		/* A 5xx for this message: another try cannot change it. */
		r->permanent = !r->server_fault && r->code >= 500 &&
		    r->code <= 599;
		smtp_describe(s, e, r);
		/* Start clean next time: the connection may be in any
		 * state after a failure. */
		smtp_close(s);
		rc = WS_ERR_UNAVAILABLE;
	}
	curl_slist_free_all(rcpt);
	return rc;
}
