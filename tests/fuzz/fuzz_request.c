/*
 * libFuzzer harness for the request layer: req_init over a hostile
 * CGI environment, then the lookups and req_json_or_reply over a
 * hostile body, then serialisation of whatever reply came out.
 *
 * Input: NAME=VALUE lines, an empty line, then the body.
 *
 * Build (not part of the CMake build):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *       tests/fuzz/fuzz_request.c common/request.c common/response.c \
 *       common/router.c common/buf.c common/error.c \
 *       $(pkg-config --cflags --libs jansson libsodium) -o fuzz_request
 *   ./fuzz_request -max_len=8192 corpus/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"

#define FUZZ_MAX_PARAMS	64
#define FUZZ_BODY_LIMIT	4096

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0 ? -1 : 0;
}

static void
lookups(const struct req *r)
{
	char	 out[64];

	(void)req_header(r, "User-Agent");
	(void)req_header(r, "Authorization");
	(void)req_query(r, "cursor", out, sizeof(out));
	(void)req_query(r, "q", out, 4);
	(void)req_cookie(r, "__Host-rt", out, sizeof(out));
	(void)req_cookie(r, "csrf", out, 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*params[FUZZ_MAX_PARAMS + 1];
	const char	*p = (const char *)data, *end = p + size, *nl;
	size_t		 n = 0, i, len;
	struct req	 r;
	struct resp	 rs;
	struct buf	 out;
	json_t		*j = NULL;

	while (p < end && n < FUZZ_MAX_PARAMS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len == 0) {
			p++;
			break;
		}
		/* A C string, as libfcgi and environ hand them over. */
		if ((params[n] = strndup(p, len)) == NULL)
			goto out;
		n++;
		p += len + (nl != NULL);
	}
	params[n] = NULL;
	resp_init(&rs);
	buf_init(&out, 0);
	if (req_init(&r, params, "10.0.0.0/8, ::1, fd00::/8",
	    FUZZ_BODY_LIMIT) == 0) {
		if (buf_append(&r.body, p, (size_t)(end - p)) != 0)
			r.body_too_big = 1;
		lookups(&r);
		if (req_json_or_reply(&r, &rs, &j) == 0) {
			resp_json(&rs, 200, j);
			json_decref(j);
		}
	} else
		resp_problem(&rs, &r, 400, "BAD_REQUEST", NULL, NULL);
	resp_serialize(&rs, &r, &out);
	buf_cleanup(&out);
	resp_cleanup(&rs);
	req_cleanup(&r);
out:
	for (i = 0; i < n; i++)
		free(params[i]);
	return 0;
}
