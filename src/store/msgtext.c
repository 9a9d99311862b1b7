/* msgtext: see msgtext.h (and msginfo.h for the public functions). */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "msginfo.h"
#include "msgtext.h"
#include "util.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD in UTF-8 */
/* Output chunk of one iconv() call; on the heap (STYLE: small stacks). */
#define ICONV_CHUNK	(16 * 1024)
/* Chunk of decoded bytes collected before a buf append. */
#define DECODE_CHUNK	512

static bool
is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

static bool
is_lws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* --- UTF-8 --- */

/* Length of the valid UTF-8 sequence at s, 0 when there is none (NUL,
 * overlong forms and surrogates are not valid). */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, k;

	if (s[0] != 0 && s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Encode cp (valid, not a surrogate) into u; returns the length. */
static size_t
utf8_encode(uint32_t cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int
msgtext_append_capped(struct buf *out, const char *s, size_t n)
{
	size_t room;

	if (out->max == 0 || (out->len <= out->max &&
	    n <= out->max - out->len)) {
		if (n > 0 && buf_append(out, s, n) < 0)
			return -1;
		return 0;
	}
	room = out->max > out->len ? out->max - out->len : 0;
	/* s[room] is the first byte left out: never split a character. */
	while (room > 0 && ((unsigned char)s[room] & 0xc0) == 0x80)
		room--;
	if (room > 0)
		buf_append(out, s, room);
	return -1;
}

int
msgtext_utf8_append(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0, l;

	if (n == 0)
		return 0;
	while (i < n) {
		if (u[i] != 0 && u[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq_len(u + i, n - i)) > 0) {
			i += l;
			continue;
		}
		if (msgtext_append_capped(out, s + start, i - start) < 0 ||
		    msgtext_append_capped(out, REPLACEMENT, 3) < 0)
			return -1;
		start = ++i;
	}
	return msgtext_append_capped(out, s + start, n - start);
}

/* Binary bytes appended up to out->max; -1 when cut. */
static int
bytes_append(struct buf *out, const void *s, size_t n)
{
	size_t room;

	if (out->max == 0 || (out->len <= out->max &&
	    n <= out->max - out->len))
		return n > 0 ? buf_append(out, s, n) : 0;
	room = out->max > out->len ? out->max - out->len : 0;
	if (room > 0)
		buf_append(out, s, room);
	return -1;
}

/* --- charsets --- */

enum cs_kind {
	CS_UTF8,
	CS_ICONV,
	CS_UNKNOWN,
};

/*
 * Labels read as something else. Unlabelled and ASCII-labelled 8-bit text
 * is far more often UTF-8 than anything else (invalid bytes still become
 * U+FFFD); Latin-1, GB2312, EUC-KR and Shift_JIS labels are read as the
 * supersets mailers really use, as the WHATWG Encoding Standard does.
 */
static const struct cs_alias {
	const char	*label;
	const char	*name;		/* NULL: UTF-8 */
} cs_aliases[] = {
	{ "", NULL }, { "us-ascii", NULL }, { "ascii", NULL },
	{ "ansi_x3.4-1968", NULL }, { "us", NULL }, { "utf-8", NULL },
	{ "utf8", NULL }, { "unicode-1-1-utf-8", NULL },
	{ "iso-8859-1", "WINDOWS-1252" }, { "iso8859-1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
	{ "l1", "WINDOWS-1252" }, { "cp819", "WINDOWS-1252" },
	{ "ibm819", "WINDOWS-1252" }, { "iso-ir-100", "WINDOWS-1252" },
	{ "iso-8859-9", "WINDOWS-1254" }, { "latin5", "WINDOWS-1254" },
	{ "iso-8859-11", "WINDOWS-874" }, { "tis-620", "WINDOWS-874" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "cp936", "GB18030" }, { "euc-cn", "GB18030" },
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" },
	{ "euc-kr", "CP949" }, { "shift_jis", "CP932" },
	{ "shift-jis", "CP932" }, { "sjis", "CP932" }, { "x-sjis", "CP932" },
	{ "ms_kanji", "CP932" }, { "windows-31j", "CP932" },
	{ "big5", "BIG5-HKSCS" },
};

static bool
charset_char(int c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == ':' ||
	    c == '+' || c == '(' || c == ')';
}

/*
 * The iconv name for a charset label in name (MSGTEXT_CHARSET_MAX + 1
 * octets). Labels with characters iconv would read as options ("//") or
 * paths are unknown.
 */
static enum cs_kind
charset_resolve(const char *cs, size_t cslen, char *name)
{
	size_t i, s = 0, e = cslen;

	while (s < e && is_lws((unsigned char)cs[s]))
		s++;
	while (e > s && is_lws((unsigned char)cs[e - 1]))
		e--;
	if (e - s > MSGTEXT_CHARSET_MAX)
		return CS_UNKNOWN;
	for (i = s; i < e; i++) {
		if (!charset_char((unsigned char)cs[i]))
			return CS_UNKNOWN;
		name[i - s] = (char)ascii_lower((unsigned char)cs[i]);
	}
	name[e - s] = '\0';
	for (i = 0; i < ARRAY_SIZE(cs_aliases); i++) {
		if (strcmp(name, cs_aliases[i].label) != 0)
			continue;
		if (cs_aliases[i].name == NULL)
			return CS_UTF8;
		str_copy(name, cs_aliases[i].name, MSGTEXT_CHARSET_MAX + 1);
		break;
	}
	return CS_ICONV;
}

/* Text in a charset nobody knows: ASCII stays, other bytes are U+FFFD. */
static int
bytes_unknown(const char *in, size_t len, struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c != 0 && c < 0x80)
			continue;
		if (msgtext_append_capped(out, in + start, i - start) < 0 ||
		    msgtext_append_capped(out, REPLACEMENT, 3) < 0)
			return -1;
		start = i + 1;
	}
	return msgtext_append_capped(out, in + start, len - start);
}

/*
 * Convert through iconv. //IGNORE would drop bad input silently, so an
 * invalid sequence is replaced here: U+FFFD, skip one byte, go on.
 */
static int
iconv_convert(const char *name, const char *in, size_t len, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", name);
	char *chunk, *ip = (char *)(uintptr_t)in, *op;
	size_t il = len, ol, r;
	int ret = 0, err;

	if (cd == (iconv_t)-1)
		return bytes_unknown(in, len, out);
	chunk = xmalloc(ICONV_CHUNK);
	while (il > 0 && ret == 0) {
		op = chunk;
		ol = ICONV_CHUNK;
		r = iconv(cd, &ip, &il, &op, &ol);
		err = errno;
		/* Valid output, but NUL must still go. */
		ret = msgtext_utf8_append(out, chunk, ICONV_CHUNK - ol);
		if (r != (size_t)-1 || err == E2BIG || ret != 0)
			continue;
		ret = msgtext_append_capped(out, REPLACEMENT, 3);
		if (err == EINVAL)
			il = 0;		/* truncated sequence at the end */
		else {
			ip++;
			il--;
		}
	}
	if (ret == 0) {
		op = chunk;
		ol = ICONV_CHUNK;
		(void)iconv(cd, NULL, NULL, &op, &ol);
		ret = msgtext_utf8_append(out, chunk, ICONV_CHUNK - ol);
	}
	free(chunk);
	iconv_close(cd);
	return ret;
}

int
msgtext_convert(const char *cs, size_t cslen, const char *in, size_t len,
    struct buf *out)
{
	char name[MSGTEXT_CHARSET_MAX + 1];

	if (in == NULL)
		in = "";
	switch (charset_resolve(cs != NULL ? cs : "", cs != NULL ? cslen : 0,
	    name)) {
	case CS_UTF8:
		return msgtext_utf8_append(out, in, len);
	case CS_ICONV:
		return iconv_convert(name, in, len, out);
	default:
		return bytes_unknown(in, len, out);
	}
}

int
msginfo_to_utf8(const char *charset, const char *in, size_t len,
    struct buf *out)
{
	return msgtext_convert(charset, charset != NULL ? strlen(charset) : 0,
	    in, len, out);
}

/* --- transfer encodings --- */

/*
 * Lenient base64: characters outside the alphabet are skipped; "=" ends a
 * quantum (its leftover bits are dropped), so concatenated encodings
 * decode too.
 */
static void
base64_lenient(const char *in, size_t len, struct buf *out)
{
	unsigned char chunk[DECODE_CHUNK];
	size_t i, n = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	for (i = 0; i < len; i++) {
		if (in[i] == '=') {
			acc = 0;
			bits = 0;
			continue;
		}
		if ((v = base64_value((unsigned char)in[i])) < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
		if (n == sizeof(chunk)) {
			if (bytes_append(out, chunk, n) < 0)
				return;
			n = 0;
		}
	}
	bytes_append(out, chunk, n);
}

/* Length of a soft line break ("=", white space, line end) at in[i], 0
 * when there is none. The end of the input counts as a line end. */
static size_t
qp_soft_break(const char *in, size_t len, size_t i)
{
	size_t j = i + 1;

	while (j < len && (in[j] == ' ' || in[j] == '\t'))
		j++;
	if (j < len && in[j] == '\r')
		j++;
	if (j < len && in[j] == '\n')
		return j + 1 - i;
	return j == len ? j - i : 0;
}

static void
qp_decode(const char *in, size_t len, struct buf *out)
{
	unsigned char chunk[DECODE_CHUNK];
	size_t i = 0, n = 0, sb;
	int h, l;

	while (i < len) {
		if (in[i] != '=') {
			chunk[n++] = (unsigned char)in[i++];
		} else if (len - i >= 3 &&
		    (h = hex_value((unsigned char)in[i + 1])) >= 0 &&
		    (l = hex_value((unsigned char)in[i + 2])) >= 0) {
			chunk[n++] = (unsigned char)(h * 16 + l);
			i += 3;
		} else if ((sb = qp_soft_break(in, len, i)) > 0) {
			i += sb;
		} else
			chunk[n++] = (unsigned char)in[i++];
		if (n == sizeof(chunk)) {
			if (bytes_append(out, chunk, n) < 0)
				return;
			n = 0;
		}
	}
	bytes_append(out, chunk, n);
}

void
msgtext_transfer_decode(const char *encoding, const char *in, size_t len,
    struct buf *out)
{
	if (in == NULL)
		return;
	if (encoding != NULL && strcmp(encoding, "base64") == 0)
		base64_lenient(in, len, out);
	else if (encoding != NULL && strcmp(encoding, "quoted-printable") == 0)
		qp_decode(in, len, out);
	else
		bytes_append(out, in, len);
}

/* --- RFC 2047 --- */

struct ew {
	const char	*cs;		/* charset, without any *language */
	size_t		 cslen;
	int		 enc;		/* 'b' or 'q' */
	const char	*text;
	size_t		 tlen;
	size_t		 len;		/* of the whole encoded word */
};

/*
 * An encoded word "=?charset?B|Q?text?=" at s. Neither charset nor text
 * may hold '?' or white space, so a failed attempt never scans past the
 * third '?' and the whole decode stays linear.
 */
static bool
ew_parse(const char *s, size_t n, struct ew *ew)
{
	size_t i, t;
	const char *star;

	if (n < 2 || s[0] != '=' || s[1] != '?')
		return false;
	for (i = 2; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    i - 2 >= MSGTEXT_CHARSET_MAX)
			return false;
	if (i == 2 || n - i < 3 || s[i + 2] != '?')
		return false;
	ew->enc = ascii_lower((unsigned char)s[i + 1]);
	if (ew->enc != 'b' && ew->enc != 'q')
		return false;
	ew->cs = s + 2;
	ew->cslen = i - 2;
	if ((star = memchr(ew->cs, '*', ew->cslen)) != NULL)
		ew->cslen = (size_t)(star - ew->cs);
	for (t = i + 3, i = t; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	if (n - i < 2 || s[i + 1] != '=')
		return false;
	ew->text = s + t;
	ew->tlen = i - t;
	ew->len = i + 2;
	return true;
}

static void
q_decode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '_')
			buf_append_byte(out, ' ');
		else if (s[i] == '=' && n - i >= 3 &&
		    (h = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (l = hex_value((unsigned char)s[i + 2])) >= 0) {
			buf_append_byte(out, (uint8_t)(h * 16 + l));
			i += 2;
		} else
			buf_append_byte(out, (uint8_t)s[i]);
	}
}

/* Decoding state: bytes of adjacent encoded words in one charset are
 * joined before conversion, so a character split between words works. */
struct hdec {
	struct buf	*out;
	struct buf	 pend;
	const char	*cs;		/* charset of pend; NULL: none */
	size_t		 cslen;
};

static int
hdec_flush(struct hdec *d)
{
	int r = 0;

	if (d->cs != NULL)
		r = msgtext_convert(d->cs, d->cslen, buf_cstr(&d->pend),
		    d->pend.len, d->out);
	buf_reset(&d->pend);
	d->cs = NULL;
	return r;
}

static int
hdec_word(struct hdec *d, const struct ew *ew)
{
	int r = 0;

	if (d->cs != NULL && (d->cslen != ew->cslen ||
	    !mem_case_equal(d->cs, ew->cs, ew->cslen)))
		r = hdec_flush(d);
	d->cs = ew->cs;
	d->cslen = ew->cslen;
	if (ew->enc == 'b')
		base64_lenient(ew->text, ew->tlen, &d->pend);
	else
		q_decode(ew->text, ew->tlen, &d->pend);
	return r;
}

/* End of a run of plain text starting at i: white space or "=?". */
static size_t
text_run_end(const char *v, size_t len, size_t i)
{
	for (i++; i < len; i++)
		if (is_lws((unsigned char)v[i]) ||
		    (v[i] == '=' && i + 1 < len && v[i + 1] == '?'))
			break;
	return i;
}

static int decode_header(const char *, size_t, struct buf *);

/*
 * The decoded value is one line: CR, LF and NUL, which encoded words can
 * carry (=0A), become spaces, so no value can fake another header line
 * for SEARCH HEADER.
 */
int
msginfo_decode_header(const char *value, size_t len, struct buf *out)
{
	size_t start = out->len;
	int r = decode_header(value, len, out);

	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '\r' || out->data[i] == '\n' ||
		    out->data[i] == '\0')
			out->data[i] = ' ';
	return r;
}

static int
decode_header(const char *value, size_t len, struct buf *out)
{
	struct hdec d = { out, BUF_INIT, NULL, 0 };
	struct ew ew;
	size_t i = 0, ws = 0, wslen = 0, j;
	bool last_ew = false;
	int r = 0;

	while (value != NULL && i < len && r == 0) {
		if (is_lws((unsigned char)value[i])) {
			if (wslen++ == 0)
				ws = i;
			i++;
			continue;
		}
		if (ew_parse(value + i, len - i, &ew)) {
			/* White space between encoded words goes (6.2). */
			if (!last_ew && wslen > 0)
				r = msgtext_utf8_append(out, value + ws, wslen);
			wslen = 0;
			if (r == 0)
				r = hdec_word(&d, &ew);
			last_ew = true;
			i += ew.len;
			continue;
		}
		r = hdec_flush(&d);
		if (r == 0 && wslen > 0)
			r = msgtext_utf8_append(out, value + ws, wslen);
		wslen = 0;
		j = text_run_end(value, len, i);
		if (r == 0)
			r = msgtext_utf8_append(out, value + i, j - i);
		i = j;
		last_ew = false;
	}
	if (r == 0)
		r = hdec_flush(&d);
	if (r == 0 && wslen > 0)
		r = msgtext_utf8_append(out, value + ws, wslen);
	buf_release(&d.pend);
	return r;
}

/* --- HTML --- */

struct html {
	struct buf	*out;
	bool		 any;		/* text written by this call */
	bool		 space;		/* white space since the last text */
	int		 nl;		/* line breaks ending the output */
	int		 r;		/* -1 once out is full */
};

static bool
html_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

static void
html_put(struct html *h, const char *s, size_t n)
{
	if (h->r != 0 || n == 0)
		return;
	if (h->space && h->nl == 0 && h->any)
		h->r = msgtext_append_capped(h->out, " ", 1);
	h->space = false;
	if (h->r == 0)
		h->r = msgtext_utf8_append(h->out, s, n);
	h->any = true;
	h->nl = 0;
}

/* A line break: <br> always adds one (two in a row at most), a block
 * element only ends the current line. */
static void
html_break(struct html *h, bool br)
{
	h->space = false;
	if (h->r != 0 || !h->any || h->nl >= (br ? 2 : 1))
		return;
	h->r = msgtext_append_capped(h->out, "\n", 1);
	h->nl++;
}

static void
html_put_cp(struct html *h, uint32_t cp)
{
	char u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp == 0xa0) {	/* no-break space: white space for search */
		h->space = true;
		return;
	}
	html_put(h, u, utf8_encode(cp, u));
}

/* HTML maps &#128; to &#159; as windows-1252 does (0: unchanged). */
static const uint16_t html_c1[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static const struct html_entity {
	const char	*name;
	uint32_t	 cp;
} html_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 }, { "copy", 0xa9 }, { "reg", 0xae },
	{ "trade", 0x2122 }, { "hellip", 0x2026 }, { "mdash", 0x2014 },
	{ "ndash", 0x2013 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
	{ "ldquo", 0x201c }, { "rdquo", 0x201d }, { "bull", 0x2022 },
	{ "euro", 0x20ac }, { "pound", 0xa3 }, { "yen", 0xa5 },
	{ "cent", 0xa2 }, { "sect", 0xa7 }, { "deg", 0xb0 },
	{ "middot", 0xb7 }, { "laquo", 0xab }, { "raquo", 0xbb },
	{ "times", 0xd7 }, { "divide", 0xf7 }, { "auml", 0xe4 },
	{ "ouml", 0xf6 }, { "uuml", 0xfc }, { "Auml", 0xc4 },
	{ "Ouml", 0xd6 }, { "Uuml", 0xdc }, { "szlig", 0xdf },
	{ "eacute", 0xe9 }, { "egrave", 0xe8 }, { "agrave", 0xe0 },
	{ "aacute", 0xe1 }, { "ccedil", 0xe7 }, { "ntilde", 0xf1 },
	{ "oacute", 0xf3 }, { "iacute", 0xed }, { "uacute", 0xfa },
	{ "Eacute", 0xc9 },
};

/* A numeric character reference at s ("&#..."): octets used, 0: none. */
static size_t
html_numeric(struct html *h, const char *s, size_t n)
{
	size_t i = 2, start;
	uint32_t cp = 0;
	bool hex = n > 2 && (s[2] == 'x' || s[2] == 'X');
	int v;

	if (hex)
		i++;
	for (start = i; i < n; i++) {
		v = hex ? hex_value((unsigned char)s[i]) :
		    (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (v < 0)
			break;
		if (cp <= 0x10ffff)
			cp = cp * (hex ? 16 : 10) + (uint32_t)v;
	}
	if (i == start)
		return 0;
	if (i < n && s[i] == ';')
		i++;
	if (cp >= 0x80 && cp <= 0x9f && html_c1[cp - 0x80] != 0)
		cp = html_c1[cp - 0x80];
	html_put_cp(h, cp);
	return i;
}

/* A character reference at s (s[0] is '&'): octets used, 0: none. */
static size_t
html_entity(struct html *h, const char *s, size_t n)
{
	size_t i, k;

	if (n > 2 && s[1] == '#')
		return html_numeric(h, s, n);
	for (i = 1; i < n && i <= 8 && is_alnum((unsigned char)s[i]); i++)
		;
	if (i == 1 || i >= n || s[i] != ';')
		return 0;
	for (k = 0; k < ARRAY_SIZE(html_entities); k++) {
		if (strlen(html_entities[k].name) == i - 1 &&
		    memcmp(html_entities[k].name, s + 1, i - 1) == 0) {
			html_put_cp(h, html_entities[k].cp);
			return i + 1;
		}
	}
	return 0;
}

/* Past the '>' closing a tag whose attributes start at i; quotes only
 * count after '=', as in attribute values. */
static size_t
html_tag_end(const char *s, size_t n, size_t i)
{
	const char *q;
	bool eq = false;

	for (; i < n; i++) {
		if (s[i] == '>')
			return i + 1;
		if ((s[i] == '"' || s[i] == '\'') && eq) {
			if ((q = memchr(s + i + 1, s[i], n - i - 1)) == NULL)
				return n;
			i = (size_t)(q - s);
			eq = false;
		} else if (s[i] == '=')
			eq = true;
		else if (!html_space((unsigned char)s[i]))
			eq = false;
	}
	return n;
}

/* Past the end tag of a raw text element (script, style) from i. */
static size_t
html_raw_end(const char *s, size_t n, size_t i, const char *name)
{
	size_t nl = strlen(name);
	const char *lt;

	while (i < n && (lt = memchr(s + i, '<', n - i)) != NULL) {
		i = (size_t)(lt - s);
		if (n - i >= 2 + nl && s[i + 1] == '/' &&
		    mem_case_equal(s + i + 2, name, nl))
			return html_tag_end(s, n, i + 2 + nl);
		i++;
	}
	return n;
}

static const char *const html_blocks[] = {
	"address", "article", "aside", "blockquote", "caption", "center",
	"dd", "div", "dl", "dt", "fieldset", "figure", "footer", "form",
	"h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
	"nav", "ol", "p", "pre", "section", "table", "title", "tr", "ul",
};

static void
html_element(struct html *h, const char *name)
{
	size_t i;

	if (strcmp(name, "br") == 0) {
		html_break(h, true);
		return;
	}
	if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		h->space = true;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(html_blocks); i++)
		if (strcmp(name, html_blocks[i]) == 0) {
			html_break(h, false);
			return;
		}
}

/* A tag, comment or declaration at s (s[0] is '<'): octets used, 0 when
 * the '<' is text. */
static size_t
html_tag(struct html *h, const char *s, size_t n)
{
	char name[16];
	size_t i = 1, nl = 0;
	bool end = false;
	const char *e;

	if (n >= 4 && memcmp(s, "<!--", 4) == 0) {
		for (i = 4; i < n && (e = memchr(s + i, '-', n - i)) != NULL;
		    i++) {
			i = (size_t)(e - s);
			if (n - i >= 3 && e[1] == '-' && e[2] == '>')
				return i + 3;
		}
		return n;
	}
	if (n >= 2 && (s[1] == '!' || s[1] == '?'))
		return html_tag_end(s, n, 2);
	if (n >= 2 && s[1] == '/') {
		end = true;
		i = 2;
	}
	if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= 'A' && s[i] <= 'Z')))
		return 0;
	for (; i < n && (is_alnum((unsigned char)s[i]) || s[i] == '-' ||
	    s[i] == ':'); i++)
		if (nl < sizeof(name) - 1)
			name[nl++] = (char)ascii_lower((unsigned char)s[i]);
	name[nl] = '\0';
	i = html_tag_end(s, n, i);
	if (!end && (strcmp(name, "script") == 0 ||
	    strcmp(name, "style") == 0) && s[i - 2] != '/')
		return html_raw_end(s, n, i, name);
	html_element(h, name);
	return i;
}

int
msginfo_html_to_text(const char *html, size_t len, struct buf *out)
{
	struct html h = { out, false, false, 0, 0 };
	size_t i = 0, j, k;

	while (html != NULL && i < len && h.r == 0) {
		if (html[i] == '<' || html[i] == '&') {
			k = html[i] == '<' ? html_tag(&h, html + i, len - i) :
			    html_entity(&h, html + i, len - i);
			if (k == 0) {
				html_put(&h, html + i, 1);
				k = 1;
			}
			i += k;
			continue;
		}
		if (html_space((unsigned char)html[i])) {
			h.space = true;
			i++;
			continue;
		}
		for (j = i + 1; j < len && html[j] != '<' && html[j] != '&' &&
		    !html_space((unsigned char)html[j]); j++)
			;
		html_put(&h, html + i, j - i);
		i = j;
	}
	return h.r;
}
