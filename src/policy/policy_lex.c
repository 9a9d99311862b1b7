/* policy_lex: see policy_lex.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "policy_int.h"
#include "policy_lex.h"
#include "util.h"

/* ----- tokens ----- */

/* The token as it may appear inside an error message. */
const char *
tok_show(const struct tok *t, char *out, size_t size)
{
	struct buf b = BUF_INIT;
	size_t n = t->len > SHOW_MAX ? SHOW_MAX : t->len;

	if (t->type == T_STRING)
		buf_append_byte(&b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t->s[i];

		if (c < 0x20 || c >= 0x7f)
			buf_printf(&b, "\\x%02x", c);
		else
			buf_append_byte(&b, c);
	}
	if (n < t->len)
		buf_append_str(&b, "...");
	if (t->type == T_STRING)
		buf_append_byte(&b, '"');
	str_copy(out, buf_cstr(&b), size);
	buf_release(&b);
	return out;
}

/* The decoded text of a word or string, as a new string. */
char *
tok_text(const struct tok *t)
{
	char *s = xmalloc(t->len + 1);
	size_t n = 0;

	for (size_t i = 0; i < t->len; i++) {
		if (t->type == T_STRING && t->s[i] == '\\')
			i++;
		s[n++] = t->s[i];
	}
	s[n] = '\0';
	return s;
}

bool
tok_is(const struct tok *t, const char *word)
{
	return t != NULL && t->type == T_WORD && t->len == strlen(word) &&
	    memcmp(t->s, word, t->len) == 0;
}

static void
toks_push(struct toks *tk, const struct tok *t)
{
	if (tk->n == tk->cap) {
		tk->cap = tk->cap ? tk->cap * 2 : 32;
		tk->v = xreallocarray(tk->v, tk->cap, sizeof(*tk->v));
	}
	tk->v[tk->n++] = *t;
}

/* ----- the lexer ----- */

/*
 * Check the raw text before tokenising, so every later step may assume
 * short lines without NUL or control bytes (a lone CR included).
 */
int
text_check(const struct pstate *st, const char *s, size_t len)
{
	unsigned int line = 1;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '\n';
		size_t end = i;

		if (c == '\n') {
			if (end > start && s[end - 1] == '\r')
				end--;
			if (end - start > POLICY_LINE_MAX)
				return perr(st, line, "line longer than %d "
				    "bytes", POLICY_LINE_MAX);
			start = i + 1;
			line++;
		} else if (c == '\0')
			return perr(st, line, "NUL byte in the file");
		else if (c == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			return perr(st, line, "carriage return not before "
			    "a line feed");
		else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return perr(st, line, "control character 0x%02x", c);
	}
	return 0;
}

static bool
is_word_end(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' ||
	    c == '[' || c == ']' || c == '"';
}

static int
lex_string(const struct pstate *st, struct lexer *lx, size_t i,
    struct tok *t)
{
	size_t j;

	t->type = T_STRING;
	t->s = lx->s + i + 1;
	for (j = i + 1; j < lx->len && lx->s[j] != '"'; j++) {
		if (lx->s[j] == '\n')
			break;
		if (lx->s[j] != '\\')
			continue;
		if (j + 1 < lx->len && (lx->s[j + 1] == '"' ||
		    lx->s[j + 1] == '\\')) {
			j++;
			continue;
		}
		return perr(st, lx->line, "bad escape in string (only \\\" "
		    "and \\\\ exist)");
	}
	if (j >= lx->len || lx->s[j] != '"')
		return perr(st, lx->line, "string without its closing quote");
	t->len = j - (i + 1);
	lx->pos = j + 1;
	return 0;
}

enum { LEX_TOKEN, LEX_EOL, LEX_EOF, LEX_ERROR };

static int
lex_next(const struct pstate *st, struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;
	size_t i = lx->pos;

	while (i < lx->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i < lx->len && s[i] == '#')
		while (i < lx->len && s[i] != '\n')
			i++;
	t->line = lx->line;
	t->s = s + i;
	t->len = 1;
	lx->pos = i + 1;
	if (i >= lx->len) {
		lx->pos = lx->len;
		return LEX_EOF;
	}
	switch (s[i]) {
	case '\n':
		lx->line++;
		return LEX_EOL;
	case ',':
		t->type = T_COMMA;
		return LEX_TOKEN;
	case '[':
		t->type = T_LBRACK;
		return LEX_TOKEN;
	case ']':
		t->type = T_RBRACK;
		return LEX_TOKEN;
	case '"':
		return lex_string(st, lx, i, t) == 0 ? LEX_TOKEN : LEX_ERROR;
	}
	t->type = T_WORD;
	while (i < lx->len && !is_word_end(s[i]))
		i++;
	t->len = (size_t)(s + i - t->s);
	lx->pos = i;
	return LEX_TOKEN;
}

/* A line ending in one of these goes on to the next line. */
static bool
tok_continues(const struct tok *t)
{
	return t->type == T_COMMA || t->type == T_LBRACK || tok_is(t, "and") ||
	    tok_is(t, "=>");
}

/*
 * "at rcpt:any": split the stage from a condition written against it
 * (a colon is part of a word elsewhere, for IPv6 addresses).
 */
static void
stage_split(struct toks *tk)
{
	struct tok *t, last;
	const char *colon;

	if (tk->n < 2 || !tok_is(&tk->v[0], "at") || tk->v[1].type != T_WORD)
		return;
	t = &tk->v[1];
	colon = memchr(t->s, ':', t->len);
	if (colon == NULL || colon == t->s + t->len - 1)
		return;
	last = tk->v[tk->n - 1];
	toks_push(tk, &last);
	t = &tk->v[1];
	memmove(t + 2, t + 1, (tk->n - 3) * sizeof(*t));
	t[1] = t[0];
	t[0].len = (size_t)(colon - t->s) + 1;
	t[1].s = colon + 1;
	t[1].len -= t[0].len;
}

/* The next statement's tokens: 1, 0 at the end of the text, -1 error. */
int
lex_statement(const struct pstate *st, struct lexer *lx, struct toks *tk)
{
	struct tok t;

	tk->n = 0;
	for (;;) {
		switch (lex_next(st, lx, &t)) {
		case LEX_ERROR:
			return -1;
		case LEX_EOF:
			stage_split(tk);
			return tk->n > 0 ? 1 : 0;
		case LEX_EOL:
			if (tk->n == 0 || tok_continues(&tk->v[tk->n - 1]))
				break;
			stage_split(tk);
			return 1;
		default:
			toks_push(tk, &t);
			break;
		}
	}
}

/* ----- the cursor over one statement ----- */

const struct tok *
cur_peek(const struct cur *c)
{
	return c->i < c->n ? &c->v[c->i] : NULL;
}

const struct tok *
cur_next(struct cur *c)
{
	return c->i < c->n ? &c->v[c->i++] : NULL;
}

bool
cur_accept(struct cur *c, const char *word)
{
	if (!tok_is(cur_peek(c), word))
		return false;
	c->i++;
	return true;
}

unsigned int
cur_line(const struct cur *c)
{
	if (c->v != NULL && c->i < c->n)
		return c->v[c->i].line;
	return c->v != NULL && c->n > 0 ? c->v[c->n - 1].line : c->line;
}

/* "expected WHAT, found 'x'" or "expected WHAT at the end of the line". */
int
cur_expected(const struct pstate *st, const struct cur *c, const char *what)
{
	const struct tok *t = cur_peek(c);
	char show[SHOW_MAX * 4 + 8];

	if (t == NULL)
		return perr(st, cur_line(c), "expected %s at the end of the "
		    "statement", what);
	return perr(st, t->line, "expected %s, found '%s'", what,
	    tok_show(t, show, sizeof(show)));
}

int
cur_expect(const struct pstate *st, struct cur *c, const char *word)
{
	char what[64];

	if (cur_accept(c, word))
		return 0;
	snprintf(what, sizeof(what), "'%s'", word);
	return cur_expected(st, c, what);
}

int
cur_end(const struct pstate *st, const struct cur *c, const char *after)
{
	const struct tok *t = cur_peek(c);
	char show[SHOW_MAX * 4 + 8];

	if (t == NULL)
		return 0;
	return perr(st, t->line, "unexpected '%s' after %s",
	    tok_show(t, show, sizeof(show)), after);
}

