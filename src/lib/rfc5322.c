/* rfc5322: see rfc5322.h. */
#include <stdbool.h>
#include <stdint.h>

#include "rfc5322.h"
#include "util.h"

/* Error texts: constants, and none of them quotes the input. */
static const char E_NAME[] = "invalid header field name";
static const char E_VALUE_LONG[] = "header field value too long";
static const char E_FIELD_MISSING[] = "header field missing";
static const char E_FIELD_REPEATED[] = "header field occurs more than once";
static const char E_EMPTY[] = "empty address list";
static const char E_TOO_MANY[] = "too many addresses";
static const char E_CTL[] = "control character in address list";
static const char E_UTF8[] = "invalid UTF-8 in address list";
static const char E_BREAK[] = "line break in address list";
static const char E_QUOTE[] = "unterminated quoted string";
static const char E_COMMENT[] = "unterminated comment";
static const char E_COMMENT_CLOSE[] = "unbalanced ) in address list";
static const char E_LITERAL[] = "unterminated domain literal";
static const char E_LITERAL_CHAR[] = "invalid character in domain literal";
static const char E_CHAR[] = "invalid character in address list";
static const char E_UNEXPECTED[] = "unexpected character in address list";
static const char E_PHRASE[] = "invalid display name";
static const char E_NO_DOMAIN[] = "missing @domain";
static const char E_LOCAL_EMPTY[] = "missing local part";
static const char E_LOCAL[] = "invalid local part";
static const char E_DOMAIN[] = "missing domain";
static const char E_BEFORE_ANGLE[] = "address before <address>";
static const char E_MULTI_ANGLE[] = "more than one <address> in a mailbox";
static const char E_EMPTY_ANGLE[] = "empty <>";
static const char E_NO_CLOSE[] = "missing closing >";
static const char E_ANGLE_JUNK[] = "unexpected text in <address>";
static const char E_ROUTE[] = "invalid route in <address>";
static const char E_JUNK[] = "unexpected text after address";
static const char E_GROUP[] = "unterminated group";
static const char E_GROUP_NAME[] = "invalid group name";
static const char E_NESTED_GROUP[] = "nested group";
static const char E_ADDR_LONG[] = "address too long";

/* Our own classes: <ctype.h> answers by locale. */
static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_ctl(int c)
{
	return (c >= 0 && c < 0x20) || c == 0x7f;
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c > 0 && c < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* ftext (RFC 5322 3.6.8): printable ASCII but the colon. */
static bool
name_is_valid(const char *name, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/*
 * Where the line starting at pos ends (CRLF, LF or a bare CR, see the
 * header comment) and, in *next_r, where the next one starts.
 */
static size_t
line_end(const char *s, size_t len, size_t pos, size_t *next_r)
{
	for (size_t i = pos; i < len; i++) {
		if (s[i] == '\n') {
			*next_r = i + 1;
			return i;
		}
		if (s[i] == '\r') {
			*next_r = i + 1 < len && s[i + 1] == '\n' ? i + 2 :
			    i + 1;
			return i;
		}
	}
	*next_r = len;
	return len;
}

/* The line [pos, eol) starts field `name`: where its value starts. */
static bool
name_match(const char *s, size_t pos, size_t eol, const char *name,
    size_t n, size_t *value_r)
{
	size_t i;

	if (eol - pos < n)
		return false;
	for (i = 0; i < n; i++)
		if (ascii_lower((unsigned char)s[pos + i]) !=
		    ascii_lower((unsigned char)name[i]))
			return false;
	for (i = pos + n; i < eol && is_wsp(s[i]); i++)
		;
	if (i == eol || s[i] != ':')
		return false;
	*value_r = i + 1;
	return true;
}

/*
 * The next field `name` at or after *pos, up to the empty line. On true,
 * *value_r is where its value starts and *pos is the start of the line
 * after the field's first line.
 */
static bool
field_next(const char *s, size_t len, const char *name, size_t n,
    size_t *pos, size_t *value_r)
{
	size_t eol, next;
	bool match;

	while (*pos < len) {
		eol = line_end(s, len, *pos, &next);
		if (eol == *pos)
			break;
		match = !is_wsp(s[*pos]) &&
		    name_match(s, *pos, eol, name, n, value_r);
		*pos = next;
		if (match)
			return true;
	}
	*pos = len;
	return false;
}

size_t
rfc5322_field_count(const char *hdr, size_t len, const char *name)
{
	size_t n = strlen(name), pos = 0, value, count = 0;

	if (!name_is_valid(name, n))
		return 0;
	while (field_next(hdr, len, name, n, &pos, &value))
		count++;
	return count;
}

/*
 * The pieces of one field's value: from the colon to the end of its
 * first line, then each continuation line whole (its leading white space
 * is part of the value; the line break before it is not).
 */
struct segs {
	const char	*s;
	size_t		 len;
	size_t		 start, end, next;
};

static void
segs_first(struct segs *g, const char *s, size_t len, size_t value)
{
	g->s = s;
	g->len = len;
	g->start = value;
	g->end = line_end(s, len, value, &g->next);
}

static bool
segs_next(struct segs *g)
{
	if (g->next >= g->len || !is_wsp(g->s[g->next]))
		return false;
	g->start = g->next;
	g->end = line_end(g->s, g->len, g->start, &g->next);
	return true;
}

/*
 * Two passes over the pieces: the first finds how much leading and
 * trailing white space to drop, so the limit applies to the value itself
 * and nothing past it is ever copied.
 */
static int
value_copy(const char *s, size_t len, size_t value, struct buf *out,
    const char **error_r)
{
	size_t total = 0, lead = 0, trail = 0, keep, skip, take;
	bool text = false;
	struct segs g;

	segs_first(&g, s, len, value);
	do {
		for (size_t i = g.start; i < g.end; i++) {
			if (!is_wsp(s[i])) {
				text = true;
				trail = 0;
			} else if (text)
				trail++;
			else
				lead++;
		}
		total += g.end - g.start;
	} while (segs_next(&g));
	keep = text ? total - lead - trail : 0;
	if (keep > RFC5322_VALUE_MAX || buf_reserve(out, keep) == -1) {
		*error_r = E_VALUE_LONG;
		return -1;
	}
	skip = lead;
	segs_first(&g, s, len, value);
	do {
		size_t n = g.end - g.start, from = skip < n ? skip : n;

		skip -= from;
		take = n - from < keep - out->len ? n - from : keep - out->len;
		buf_append(out, s + g.start + from, take);
	} while (out->len < keep && segs_next(&g));
	return 0;
}

int
rfc5322_field_find(const char *hdr, size_t len, const char *name,
    size_t nth, struct buf *value_r, const char **error_r)
{
	size_t n = strlen(name), pos = 0, value, k = 0;

	buf_reset(value_r);
	if (!name_is_valid(name, n)) {
		*error_r = E_NAME;
		return -1;
	}
	while (field_next(hdr, len, name, n, &pos, &value)) {
		if (k++ < nth)
			continue;
		if (value_copy(hdr, len, value, value_r, error_r) == -1) {
			buf_reset(value_r);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* --- address lists ------------------------------------------------- */

enum tok_type {
	T_END,
	T_ATOM,		/* atext and UTF-8, no dots */
	T_QSTR,		/* quoted string, quotes included */
	T_DLIT,		/* domain literal, brackets included */
	T_SPECIAL	/* one of < > @ , ; : . */
};

struct tok {
	enum tok_type	 type;
	int		 c;		/* T_SPECIAL: which */
	size_t		 start, len;
};

/* Room for a path with brackets and route; more is too long anyway. */
#define SPEC_MAX	ADDR_PATH_MAX

struct mparser {
	const unsigned char	*s;
	size_t			 len, pos;
	struct tok		 tok;		/* the current token */
	const char		*error;
	struct addr		*out;
	size_t			 max, n;
	/* the addr-spec being assembled, without CFWS */
	char			 spec[SPEC_MAX + 1];
	size_t			 spec_len;
	bool			 spec_over;
};

static int
cur(const struct mparser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static int
fail(struct mparser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return -1;
}

/*
 * One UTF-8 sequence at p->pos, RFC 3629 table 4: no overlong forms, no
 * surrogates, nothing past U+10FFFF; C1 controls are controls.
 */
static int
utf8_skip(struct mparser *p)
{
	const unsigned char *s = p->s + p->pos;
	size_t n = p->len - p->pos, need;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return fail(p, E_UTF8);
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return fail(p, E_UTF8);
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return fail(p, E_UTF8);
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return fail(p, E_CTL);
	p->pos += need;
	return 0;
}

/* A line break is only welcome as part of a fold: CRLF (or LF, CR) WSP. */
static int
fws_break(struct mparser *p)
{
	if (cur(p) == '\r')
		p->pos++;
	if (cur(p) == '\n')
		p->pos++;
	return is_wsp(cur(p)) ? 0 : fail(p, E_BREAK);
}

/* quoted-pair: a backslash and one visible character or WSP. */
static int
qpair_skip(struct mparser *p, const char *unterminated)
{
	int c;

	p->pos++;
	if ((c = cur(p)) == -1)
		return fail(p, unterminated);
	if (c >= 0x80)
		return utf8_skip(p);
	if (is_ctl(c) && c != '\t')
		return fail(p, E_CTL);
	p->pos++;
	return 0;
}

/* Shared by comments and quoted strings: one byte of text. */
static int
text_skip(struct mparser *p, int c, const char *unterminated)
{
	if (c == '\\')
		return qpair_skip(p, unterminated);
	if (c == '\r' || c == '\n')
		return fws_break(p);
	if (c >= 0x80)
		return utf8_skip(p);
	if (is_ctl(c) && c != '\t')
		return fail(p, E_CTL);
	p->pos++;
	return 0;
}

/* A comment, nested ones inside; p->pos is at the '('. */
static int
comment_skip(struct mparser *p)
{
	size_t depth = 0;
	int c;

	do {
		if ((c = cur(p)) == -1)
			return fail(p, E_COMMENT);
		if (c == '(') {
			depth++;
			p->pos++;
		} else if (c == ')') {
			depth--;
			p->pos++;
		} else if (text_skip(p, c, E_COMMENT) == -1)
			return -1;
	} while (depth > 0);
	return 0;
}

static int
cfws_skip(struct mparser *p)
{
	int c;

	for (;;) {
		c = cur(p);
		if (is_wsp(c))
			p->pos++;
		else if (c == '\r' || c == '\n') {
			if (fws_break(p) == -1)
				return -1;
		} else if (c == '(') {
			if (comment_skip(p) == -1)
				return -1;
		} else
			return 0;
	}
}

static int
qstr_lex(struct mparser *p)
{
	int c;

	p->pos++;
	while ((c = cur(p)) != '"') {
		if (c == -1)
			return fail(p, E_QUOTE);
		if (text_skip(p, c, E_QUOTE) == -1)
			return -1;
	}
	p->pos++;
	return 0;
}

/* Domain literal: printable ASCII, no folding (addr.h takes no space). */
static int
dlit_lex(struct mparser *p)
{
	int c;

	p->pos++;
	while ((c = cur(p)) != ']') {
		if (c == -1)
			return fail(p, E_LITERAL);
		if (is_ctl(c) && c != '\t')
			return fail(p, E_CTL);
		if (c <= ' ' || c >= 0x7f || c == '[' || c == '\\')
			return fail(p, E_LITERAL_CHAR);
		p->pos++;
	}
	p->pos++;
	return 0;
}

static int
atom_lex(struct mparser *p)
{
	int c;

	while ((c = cur(p)) != -1) {
		if (c >= 0x80) {
			if (utf8_skip(p) == -1)
				return -1;
		} else if (is_atext(c))
			p->pos++;
		else
			break;
	}
	return 0;
}

/* Move to the next token, skipping CFWS before it. */
static int
advance(struct mparser *p)
{
	struct tok *t = &p->tok;
	int c, rc = 0;

	if (cfws_skip(p) == -1)
		return -1;
	t->start = p->pos;
	t->c = c = cur(p);
	if (c == -1)
		t->type = T_END;
	else if (c != 0 && strchr("<>@,;:.", c) != NULL) {
		t->type = T_SPECIAL;
		p->pos++;
	} else if (c == '"') {
		t->type = T_QSTR;
		rc = qstr_lex(p);
	} else if (c == '[') {
		t->type = T_DLIT;
		rc = dlit_lex(p);
	} else if (c >= 0x80 || is_atext(c)) {
		t->type = T_ATOM;
		rc = atom_lex(p);
	} else if (is_ctl(c))
		rc = fail(p, E_CTL);
	else
		rc = fail(p, c == ')' ? E_COMMENT_CLOSE : E_CHAR);
	t->len = p->pos - t->start;
	return rc;
}

static bool
is_sp(const struct mparser *p, int c)
{
	return p->tok.type == T_SPECIAL && p->tok.c == c;
}

static bool
is_word(const struct mparser *p)
{
	return p->tok.type == T_ATOM || p->tok.type == T_QSTR;
}

static void
spec_reset(struct mparser *p)
{
	p->spec_len = 0;
	p->spec_over = false;
}

static void
spec_put(struct mparser *p, const char *s, size_t n)
{
	if (n > SPEC_MAX - p->spec_len) {
		p->spec_over = true;
		return;
	}
	memcpy(p->spec + p->spec_len, s, n);
	p->spec_len += n;
}

/* The current token as addr.h wants it: a quoted string unfolded. */
static void
spec_tok(struct mparser *p)
{
	const char *s = (const char *)p->s + p->tok.start;
	size_t i, run = 0;

	for (i = 0; i < p->tok.len; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			spec_put(p, s + run, i - run);
			run = i + 1;
		}
	}
	spec_put(p, s + run, i - run);
}

/* What a run of words and dots could be: a display name, a local part. */
struct phrase {
	size_t	 tokens;
	size_t	 words;
	bool	 adjacent;	/* two words with no dot between */
	bool	 lead_dot;	/* obs-phrase must start with a word */
	bool	 last_word;
};

static int
phrase_take(struct mparser *p, struct phrase *ph)
{
	memset(ph, 0, sizeof(*ph));
	while (is_word(p) || is_sp(p, '.')) {
		if (is_word(p)) {
			ph->adjacent |= ph->last_word;
			ph->words++;
			ph->last_word = true;
		} else {
			ph->lead_dot |= ph->words == 0;
			ph->last_word = false;
		}
		ph->tokens++;
		spec_tok(p);
		if (advance(p) == -1)
			return -1;
	}
	return 0;
}

/* dot-atom, obs-domain or domain-literal; addr.h judges the dots. */
static int
domain_take(struct mparser *p)
{
	bool last_atom = false;

	if (p->tok.type == T_DLIT) {
		spec_tok(p);
		return advance(p);
	}
	if (p->tok.type != T_ATOM)
		return fail(p, E_DOMAIN);
	while (p->tok.type == T_ATOM || is_sp(p, '.')) {
		if (p->tok.type == T_ATOM && last_atom)
			break;
		last_atom = p->tok.type == T_ATOM;
		spec_tok(p);
		if (advance(p) == -1)
			return -1;
	}
	return 0;
}

/* The local part just taken, then "@" domain. */
static int
addr_spec_rest(struct mparser *p, const struct phrase *ph)
{
	if (ph->words == 0)
		return fail(p, E_LOCAL_EMPTY);
	if (ph->adjacent)
		return fail(p, E_LOCAL);
	spec_put(p, "@", 1);
	if (advance(p) == -1)
		return -1;
	return domain_take(p);
}

static int
mailbox_store(struct mparser *p, const char *s, size_t n, bool route)
{
	const char *error;
	struct addr a;
	int rc;

	if (p->spec_over)
		return fail(p, E_ADDR_LONG);
	if (p->n >= p->max)
		return fail(p, E_TOO_MANY);
	if (route)
		rc = addr_parse_path(s, n, ADDR_ALLOW_UTF8, &a, NULL, &error);
	else
		rc = addr_parse_mailbox(s, n, ADDR_ALLOW_UTF8, &a, &error);
	if (rc == -1)
		return fail(p, error);
	p->out[p->n++] = a;
	return 0;
}

/* obs-route: *("," / "@" domain) ":" before the addr-spec, kept whole. */
static int
route_take(struct mparser *p)
{
	bool any = false;

	for (;;) {
		if (is_sp(p, ',')) {
			if (advance(p) == -1)
				return -1;
		} else if (is_sp(p, '@')) {
			spec_put(p, any ? ",@" : "@", any ? 2 : 1);
			any = true;
			if (advance(p) == -1 || domain_take(p) == -1)
				return -1;
		} else if (is_sp(p, ':') && any) {
			spec_put(p, ":", 1);
			return advance(p);
		} else
			return fail(p, E_ROUTE);
	}
}

/* angle-addr; p->tok is the '<'. */
static int
angle_take(struct mparser *p)
{
	struct phrase ph;
	bool route = false;

	spec_reset(p);
	spec_put(p, "<", 1);
	if (advance(p) == -1)
		return -1;
	if (is_sp(p, '@') || is_sp(p, ',')) {
		route = true;
		if (route_take(p) == -1)
			return -1;
	}
	if (phrase_take(p, &ph) == -1)
		return -1;
	if (!is_sp(p, '@')) {
		if (ph.tokens > 0)
			return fail(p, E_NO_DOMAIN);
		if (is_sp(p, '>'))
			return fail(p, route ? E_LOCAL_EMPTY : E_EMPTY_ANGLE);
		return fail(p, p->tok.type == T_END ? E_NO_CLOSE :
		    E_ANGLE_JUNK);
	}
	if (addr_spec_rest(p, &ph) == -1)
		return -1;
	if (!is_sp(p, '>'))
		return fail(p, p->tok.type == T_END ? E_NO_CLOSE :
		    E_ANGLE_JUNK);
	spec_put(p, ">", 1);
	if (advance(p) == -1)
		return -1;
	if (route)
		return mailbox_store(p, p->spec, p->spec_len, true);
	return mailbox_store(p, p->spec + 1, p->spec_len - 2, false);
}

static int address_take(struct mparser *, bool);

/* group: display-name ":" [members] ";"; p->tok is the ':'. */
static int
group_take(struct mparser *p, const struct phrase *ph, bool in_group)
{
	if (in_group)
		return fail(p, E_NESTED_GROUP);
	if (ph->words == 0 || ph->lead_dot)
		return fail(p, E_GROUP_NAME);
	if (advance(p) == -1)
		return -1;
	for (;;) {
		if (is_sp(p, ';'))
			return advance(p);
		if (p->tok.type == T_END)
			return fail(p, E_GROUP);
		if (is_sp(p, ',')) {
			if (advance(p) == -1)
				return -1;
			continue;
		}
		if (address_take(p, true) == -1)
			return -1;
		if (!is_sp(p, ',') && !is_sp(p, ';'))
			return fail(p, p->tok.type == T_END ? E_GROUP :
			    E_JUNK);
	}
}

/*
 * One address (a mailbox, or a group when not in one). A run of words
 * comes first; what follows it says what it was.
 */
static int
address_take(struct mparser *p, bool in_group)
{
	struct phrase ph;

	spec_reset(p);
	if (phrase_take(p, &ph) == -1)
		return -1;
	if (is_sp(p, '<')) {
		if (ph.lead_dot)
			return fail(p, E_PHRASE);
		if (angle_take(p) == -1)
			return -1;
		return is_sp(p, '<') ? fail(p, E_MULTI_ANGLE) : 0;
	}
	if (is_sp(p, '@')) {
		if (addr_spec_rest(p, &ph) == -1 ||
		    mailbox_store(p, p->spec, p->spec_len, false) == -1)
			return -1;
		/* "a@b <c@d>": which is the address depends on who reads */
		return is_sp(p, '<') ? fail(p, E_BEFORE_ANGLE) : 0;
	}
	if (is_sp(p, ':'))
		return group_take(p, &ph, in_group);
	return fail(p, ph.tokens > 0 ? E_NO_DOMAIN : E_UNEXPECTED);
}

static int
list_take(struct mparser *p)
{
	if (advance(p) == -1)
		return -1;
	for (;;) {
		if (p->tok.type == T_END)
			break;
		if (is_sp(p, ',')) {
			if (advance(p) == -1)
				return -1;
			continue;
		}
		if (address_take(p, false) == -1)
			return -1;
		if (!is_sp(p, ',') && p->tok.type != T_END)
			return fail(p, E_JUNK);
	}
	return p->n == 0 ? fail(p, E_EMPTY) : 0;
}

int
rfc5322_mailbox_list(const char *value, size_t len, struct addr *out,
    size_t max, size_t *n_r, const char **error_r)
{
	struct mparser p;

	memset(&p, 0, sizeof(p));
	p.s = (const unsigned char *)value;
	p.len = len;
	p.out = out;
	p.max = max;
	if (list_take(&p) == -1) {
		if (p.n > 0)
			memset(out, 0, p.n * sizeof(*out));
		*n_r = 0;
		*error_r = p.error;
		return -1;
	}
	*n_r = p.n;
	return 0;
}

int
rfc5322_header_mailboxes(const char *hdr, size_t len, const char *name,
    struct addr *out, size_t max, size_t *n_r, const char **error_r)
{
	struct buf value;
	size_t count;
	int rc;

	*n_r = 0;
	if (!name_is_valid(name, strlen(name))) {
		*error_r = E_NAME;
		return -1;
	}
	if ((count = rfc5322_field_count(hdr, len, name)) != 1) {
		*error_r = count == 0 ? E_FIELD_MISSING : E_FIELD_REPEATED;
		return -1;
	}
	buf_init(&value, 0);
	rc = rfc5322_field_find(hdr, len, name, 0, &value, error_r);
	if (rc == 1)
		rc = rfc5322_mailbox_list(buf_cstr(&value), value.len, out,
		    max, n_r, error_r);
	else if (rc == 0) {
		/* cannot happen: counted above */
		*error_r = E_FIELD_MISSING;
		rc = -1;
	}
	buf_release(&value);
	return rc == -1 ? -1 : 0;
}
