/*
 * libFuzzer target for src/store/msginfo.c and msgtext.c. Any input must
 * build a msginfo whose BODY, BODYSTRUCTURE and ENVELOPE parse as RFC
 * 3501 grammar (tests/common/imap_grammar.c),
 * whose parts lie inside the message and whose decoded texts are valid
 * UTF-8 within their caps; the input is also fed to the header decoder,
 * the charset converter and the HTML reducer, with and without a maximum.
 * Seeds: the .eml files in tests/corpus/mime.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_grammar.h"
#include "msginfo.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_grammar(const char *s, bool ext, bool envelope)
{
	const char *why;
	size_t off;

	if (!imap_grammar_ok(s, ext, envelope, &why, &off))
		abort();
}

/* ---- invariants ---- */

static bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		if (u[i] == 0)
			return false;
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xc2 && u[i] <= 0xdf)
			len = 2, cp = u[i] & 0x1f;
		else if (u[i] >= 0xe0 && u[i] <= 0xef)
			len = 3, cp = u[i] & 0x0f;
		else if (u[i] >= 0xf0 && u[i] <= 0xf4)
			len = 4, cp = u[i] & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void
check_text(const char *s, size_t max)
{
	if (s == NULL)
		return;
	if (!utf8_valid(s, strlen(s)) || (max > 0 && strlen(s) > max))
		abort();
}

static void
check_info(const struct msginfo *mi, size_t len)
{
	const struct msginfo_part *p;
	size_t i;

	check_grammar(mi->body, false, false);
	check_grammar(mi->bodystructure, true, false);
	check_grammar(mi->envelope, false, true);
	if (mi->sort_subject == NULL || mi->from_addr == NULL ||
	    mi->to_addr == NULL || mi->nparts < 2 || mi->parts == NULL ||
	    strcmp(mi->parts[0].section, "") != 0)
		abort();
	check_text(mi->subject, 0);
	check_text(mi->sort_subject, 0);
	check_text(mi->from, 0);
	check_text(mi->to, 0);
	check_text(mi->headers_text, MSGINFO_TEXT_MAX);
	check_text(mi->body_text, MSGINFO_TEXT_MAX);
	for (i = 0; i < mi->nparts; i++) {
		p = &mi->parts[i];
		if (p->section == NULL || p->type == NULL ||
		    p->subtype == NULL || p->hdr_off > len ||
		    p->hdr_len > len - p->hdr_off || p->body_off > len ||
		    p->body_len > len - p->body_off ||
		    p->msg_hdr_off > len ||
		    p->msg_hdr_len > len - p->msg_hdr_off ||
		    (!p->is_message && p->msg_hdr_len != 0))
			abort();
	}
}

/* Run a text function whole and again under a maximum taken from the
 * input; the capped output must be a valid prefix-cut. */
static void
text_fn(int (*fn)(const char *, size_t, struct buf *), const char *s,
    size_t n, size_t max)
{
	struct buf out;
	int r;

	buf_init(&out, 0);
	if (fn(s, n, &out) != 0)
		abort();
	check_text(buf_cstr(&out), 0);
	buf_release(&out);
	buf_init(&out, max);
	r = fn(s, n, &out);
	if (out.len > max || (r != 0 && r != -1))
		abort();
	check_text(buf_cstr(&out), 0);
	buf_release(&out);
}

static const char *const charsets[] = {
	NULL, "utf-8", "windows-1252", "iso-2022-jp", "utf-16", "shift_jis",
	"gb2312", "utf-7", "x-unknown", "koi8-r", "euc-kr", "big5",
};

static int
to_utf8_fn(const char *s, size_t n, struct buf *out)
{
	const char *cs = charsets[n > 0 ? (unsigned char)s[0] %
	    ARRAY_SIZE(charsets) : 0];

	return msginfo_to_utf8(cs, s, n, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msginfo mi;
	const char *error = NULL;
	char *copy = xmalloc(size + 1);
	size_t max = size > 0 ? 1 + data[size - 1] % 64 : 1;

	/* A copy of exactly size bytes so that reading past it is caught. */
	memcpy(copy, data, size);
	if (msginfo_build(copy, size, &mi, &error) != 0)
		abort();
	check_info(&mi, size);
	msginfo_clear(&mi);
	text_fn(msginfo_decode_header, copy, size, max);
	text_fn(msginfo_html_to_text, copy, size, max);
	text_fn(to_utf8_fn, copy, size, max);
	free(copy);
	return 0;
}
