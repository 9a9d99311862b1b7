/*
 * imap_grammar: a small checker of the RFC 3501 grammar of what msginfo
 * writes (BODY, BODYSTRUCTURE, ENVELOPE), shared by the unit test and the
 * fuzz target.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imap_grammar.h"

struct gram {
	const char	*p, *end;
	bool		 ext;		/* BODYSTRUCTURE: extension data */
	const char	*err;
};

static bool
g_fail(struct gram *g, const char *why)
{
	if (g->err == NULL)
		g->err = why;
	return false;
}

static bool
g_lit(struct gram *g, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(g->end - g->p) < n || memcmp(g->p, s, n) != 0)
		return g_fail(g, s);
	g->p += n;
	return true;
}

static bool
g_peek(const struct gram *g, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(g->end - g->p) >= n && memcmp(g->p, s, n) == 0;
}

static bool
g_number(struct gram *g)
{
	const char *s = g->p;

	while (g->p < g->end && *g->p >= '0' && *g->p <= '9')
		g->p++;
	return g->p > s ? true : g_fail(g, "number");
}

/* quoted / literal; *s_r, *n_r: the raw content (quoted: escaped). */
static bool
g_string(struct gram *g, const char **s_r, size_t *n_r)
{
	unsigned long n;
	char *e;

	if (g->p < g->end && *g->p == '"') {
		*s_r = ++g->p;
		for (; g->p < g->end && *g->p != '"'; g->p++) {
			unsigned char c = (unsigned char)*g->p;

			if (c == '\\') {
				if (g->p + 1 >= g->end || (g->p[1] != '"' &&
				    g->p[1] != '\\'))
					return g_fail(g, "bad escape");
				g->p++;
			} else if (c == 0 || c >= 0x80 || c == '\r' ||
			    c == '\n')
				return g_fail(g, "bad quoted char");
		}
		*n_r = (size_t)(g->p - *s_r);
		return g_lit(g, "\"");
	}
	if (g->p < g->end && *g->p == '{') {
		n = strtoul(g->p + 1, &e, 10);
		if (e >= g->end || e == g->p + 1)
			return g_fail(g, "literal length");
		g->p = e;
		if (!g_lit(g, "}\r\n") || (size_t)(g->end - g->p) < n)
			return g_fail(g, "literal");
		if (memchr(g->p, '\0', n) != NULL)
			return g_fail(g, "NUL in literal");
		*s_r = g->p;
		*n_r = n;
		g->p += n;
		return true;
	}
	return g_fail(g, "string");
}

static bool
g_nstring(struct gram *g)
{
	const char *s;
	size_t n;

	if (g_peek(g, "NIL")) {
		g->p += 3;
		return true;
	}
	return g_string(g, &s, &n);
}

static bool
g_params(struct gram *g)
{
	if (g_peek(g, "NIL")) {
		g->p += 3;
		return true;
	}
	if (!g_lit(g, "(") || !g_nstring(g) || !g_lit(g, " ") ||
	    !g_nstring(g))
		return false;
	while (g_peek(g, " "))
		if (!g_lit(g, " ") || !g_nstring(g) || !g_lit(g, " ") ||
		    !g_nstring(g))
			return false;
	return g_lit(g, ")");
}

static bool
g_addrs(struct gram *g)
{
	if (g_peek(g, "NIL")) {
		g->p += 3;
		return true;
	}
	if (!g_lit(g, "("))
		return false;
	do {
		if (!g_lit(g, "(") || !g_nstring(g) || !g_lit(g, " NIL ") ||
		    !g_nstring(g) || !g_lit(g, " ") || !g_nstring(g) ||
		    !g_lit(g, ")"))
			return false;
	} while (g_peek(g, "("));
	return g_lit(g, ")");
}

static bool
g_envelope(struct gram *g)
{
	int i;

	if (!g_lit(g, "(") || !g_nstring(g) || !g_lit(g, " ") ||
	    !g_nstring(g))
		return false;
	for (i = 0; i < 6; i++)
		if (!g_lit(g, " ") || !g_addrs(g))
			return false;
	return g_lit(g, " ") && g_nstring(g) && g_lit(g, " ") &&
	    g_nstring(g) && g_lit(g, ")");
}

/* SP dsp SP lang SP loc */
static bool
g_ext_tail(struct gram *g)
{
	if (!g_lit(g, " "))
		return false;
	if (g_peek(g, "NIL"))
		g->p += 3;
	else if (!g_lit(g, "(") || !g_nstring(g) || !g_lit(g, " ") ||
	    !g_params(g) || !g_lit(g, ")"))
		return false;
	if (!g_lit(g, " "))
		return false;
	if (g_peek(g, "(")) {
		g->p++;
		if (!g_nstring(g))
			return false;
		while (g_peek(g, " "))
			if (!g_lit(g, " ") || !g_nstring(g))
				return false;
		if (!g_lit(g, ")"))
			return false;
	} else if (!g_nstring(g))
		return false;
	return g_lit(g, " ") && g_nstring(g);
}

static bool g_body(struct gram *, int);

static bool
str_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

static bool
g_single(struct gram *g, const char *type, size_t tlen, int depth)
{
	bool text = str_is(type, tlen, "text");
	bool message = str_is(type, tlen, "message");
	const char *sub;
	size_t slen;

	if (!g_lit(g, " ") || !g_string(g, &sub, &slen))
		return false;
	message = message && (str_is(sub, slen, "rfc822") ||
	    str_is(sub, slen, "global"));
	if (!g_lit(g, " ") || !g_params(g) || !g_lit(g, " ") ||
	    !g_nstring(g) || !g_lit(g, " ") || !g_nstring(g) ||
	    !g_lit(g, " ") || !g_nstring(g) || !g_lit(g, " ") || !g_number(g))
		return false;
	if (message) {
		if (!g_lit(g, " ") || !g_envelope(g) || !g_lit(g, " ") ||
		    !g_body(g, depth + 1) || !g_lit(g, " ") || !g_number(g))
			return false;
	} else if (text && (!g_lit(g, " ") || !g_number(g)))
		return false;
	if (g->ext && (!g_lit(g, " ") || !g_nstring(g) || !g_ext_tail(g)))
		return false;
	return g_lit(g, ")");
}

static bool
g_body(struct gram *g, int depth)
{
	const char *type;
	size_t tlen;

	if (depth > 64)
		return g_fail(g, "too deep");
	if (!g_lit(g, "("))
		return false;
	if (g_peek(g, "(")) {
		do {
			if (!g_body(g, depth + 1))
				return false;
		} while (g_peek(g, "("));
		if (!g_lit(g, " ") || !g_nstring(g))
			return false;
		if (g->ext && (!g_lit(g, " ") || !g_params(g) ||
		    !g_ext_tail(g)))
			return false;
		return g_lit(g, ")");
	}
	if (!g_string(g, &type, &tlen))
		return false;
	return g_single(g, type, tlen, depth);
}

bool
imap_grammar_ok(const char *s, bool ext, bool envelope, const char **why_r,
    size_t *offset_r)
{
	struct gram g = { s, s + strlen(s), ext, NULL };
	bool ok = envelope ? g_envelope(&g) : g_body(&g, 0);

	*why_r = g.err != NULL ? g.err : "trailing data";
	*offset_r = (size_t)(g.p - s);
	return ok && g.p == g.end;
}
