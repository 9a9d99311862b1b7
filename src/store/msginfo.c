/* msginfo: see msginfo.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "msginfo.h"
#include "msgtext.h"
#include "util.h"

/* Longest value sent as an IMAP quoted string; longer ones are literals. */
#define IMAP_QUOTED_MAX		1024
/* Most octets a text part is decoded to before it is reduced to text. */
#define TEXT_DECODE_MAX		(8 * MSGINFO_TEXT_MAX)

#define EMPTY_PART	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") " \
			"NIL NIL \"7bit\" 0 0"
#define NIL_ENVELOPE	"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

static bool
is_lws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
part_is_multipart(const struct mime_part *p)
{
	return strcmp(p->type, "multipart") == 0;
}

static bool
part_is_message(const struct mime_part *p)
{
	return strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 ||
	    strcmp(p->subtype, "global") == 0);
}

/* The first field called name in p's header, unfolded and trimmed. */
static bool
field_get(const struct mime_part *p, const char *msg, const char *name,
    struct buf *v)
{
	return mime_header_get(p, msg, name, v) == 1;
}

/* --- IMAP strings --- */

static bool
imap_quotable(const char *s, size_t n)
{
	size_t i;

	if (n > IMAP_QUOTED_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c >= 0x80 || c == '\r' || c == '\n')
			return false;
	}
	return true;
}

static void
imap_string(struct buf *b, const char *s, size_t n)
{
	size_t i, start, nul = 0;

	if (imap_quotable(s, n)) {
		buf_append_byte(b, '"');
		for (i = start = 0; i < n; i++) {
			if (s[i] != '"' && s[i] != '\\')
				continue;
			buf_append(b, s + start, i - start);
			buf_append_byte(b, '\\');
			start = i;
		}
		buf_append(b, s + start, n - start);
		buf_append_byte(b, '"');
		return;
	}
	for (i = 0; i < n; i++)
		if (s[i] == '\0')
			nul++;
	buf_printf(b, "{%zu}\r\n", n - nul);
	for (i = start = 0; i < n; i++) {
		if (s[i] != '\0')
			continue;
		buf_append(b, s + start, i - start);
		start = i + 1;
	}
	buf_append(b, s + start, n - start);
}

static void
imap_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_append_str(b, "NIL");
	else
		imap_string(b, s, strlen(s));
}

static void
imap_buf(struct buf *b, const struct buf *v)
{
	imap_string(b, buf_cstr(v), v->len);
}

/* --- addresses (RFC 5322 3.4, leniently) --- */

enum env_addr_kind {
	EA_MAILBOX,
	EA_GROUP_START,		/* mailbox holds the group's name */
	EA_GROUP_END,
};

struct env_addr {
	enum env_addr_kind kind;
	char		*name;		/* NULL: NIL */
	char		*mailbox;
	char		*host;
};

struct addr_list {
	struct env_addr	*v;
	size_t		 n, cap;
};

enum atok_type {
	AT_END,
	AT_ATOM,
	AT_QUOTED,		/* s, n: between the quotes, still escaped */
	AT_DLITERAL,		/* [...] with its brackets */
	AT_SPECIAL,
};

struct atok {
	enum atok_type	 type;
	const char	*s;
	size_t		 n;
	char		 c;		/* AT_SPECIAL */
	bool		 ws;		/* white space or a comment before it */
};

struct alex {
	const char	*p, *end;
};

struct aparse {
	struct alex	 lx;
	struct atok	 t;
	struct buf	 phrase;	/* words, one space between them */
	struct buf	 local;		/* the words just before an '@' */
	bool		 words;
	struct addr_list *al;
};

static bool
addr_special(int c)
{
	return c == '<' || c == '>' || c == '@' || c == ',' || c == ';' ||
	    c == ':';
}

static bool
atom_stop(int c)
{
	return is_lws(c) || addr_special(c) || c == '(' || c == ')' ||
	    c == '"' || c == '[';
}

/* Skip white space and comments (nested, with quoted-pairs; an
 * unterminated one runs to the end). True when anything was skipped. */
static bool
alex_skip_cfws(struct alex *lx)
{
	const char *start = lx->p;
	int depth;

	while (lx->p < lx->end) {
		if (is_lws((unsigned char)*lx->p) || *lx->p == ')') {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			break;
		for (depth = 0; lx->p < lx->end; lx->p++) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')' && --depth == 0) {
				lx->p++;
				break;
			}
		}
	}
	return lx->p != start;
}

static void
alex_next(struct alex *lx, struct atok *t)
{
	const char *s, *e;

	t->ws = alex_skip_cfws(lx);
	if (lx->p >= lx->end) {
		t->type = AT_END;
		return;
	}
	s = lx->p;
	if (addr_special((unsigned char)*s)) {
		t->type = AT_SPECIAL;
		t->c = *s;
		lx->p++;
	} else if (*s == '"') {
		for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++)
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
		t->type = AT_QUOTED;
		t->s = s + 1;
		t->n = (size_t)(lx->p - s - 1);
		if (lx->p < lx->end)
			lx->p++;
	} else if (*s == '[') {
		e = memchr(s, ']', (size_t)(lx->end - s));
		lx->p = e != NULL ? e + 1 : lx->end;
		t->type = AT_DLITERAL;
		t->s = s;
		t->n = (size_t)(lx->p - s);
	} else {
		while (lx->p < lx->end && !atom_stop((unsigned char)*lx->p))
			lx->p++;
		t->type = AT_ATOM;
		t->s = s;
		t->n = (size_t)(lx->p - s);
	}
}

/* Append a token's text, a quoted string without its quoting. */
static void
atok_append(struct buf *b, const struct atok *t)
{
	size_t i, start;

	if (t->type != AT_QUOTED) {
		buf_append(b, t->s, t->n);
		return;
	}
	for (i = start = 0; i < t->n; i++) {
		if (t->s[i] != '\\' || i + 1 == t->n)
			continue;
		buf_append(b, t->s + start, i - start);
		start = ++i;
	}
	buf_append(b, t->s + start, t->n - start);
}

static char *
buf_dup(const struct buf *b)
{
	return b != NULL ? xstrndup(buf_cstr(b), b->len) : NULL;
}

static void
al_add(struct addr_list *al, enum env_addr_kind kind, const struct buf *name,
    const struct buf *mailbox, const struct buf *host)
{
	struct env_addr *a;

	if (al->n == al->cap) {
		al->cap = al->cap == 0 ? 4 : al->cap * 2;
		al->v = xreallocarray(al->v, al->cap, sizeof(*al->v));
	}
	a = &al->v[al->n++];
	a->kind = kind;
	a->name = buf_dup(name);
	a->mailbox = buf_dup(mailbox);
	a->host = buf_dup(host);
}

static void
al_free(struct addr_list *al)
{
	size_t i;

	for (i = 0; i < al->n; i++) {
		free(al->v[i].name);
		free(al->v[i].mailbox);
		free(al->v[i].host);
	}
	free(al->v);
	memset(al, 0, sizeof(*al));
}

static void
ap_next(struct aparse *ap)
{
	alex_next(&ap->lx, &ap->t);
}

static bool
ap_is(const struct aparse *ap, char c)
{
	return ap->t.type == AT_SPECIAL && ap->t.c == c;
}

static bool
ap_word(const struct aparse *ap)
{
	return ap->t.type == AT_ATOM || ap->t.type == AT_QUOTED ||
	    ap->t.type == AT_DLITERAL;
}

static void
ap_reset(struct aparse *ap)
{
	buf_reset(&ap->phrase);
	buf_reset(&ap->local);
	ap->words = false;
}

static void
ap_word_add(struct aparse *ap)
{
	if (ap->words && ap->t.ws)
		buf_append_byte(&ap->phrase, ' ');
	atok_append(&ap->phrase, &ap->t);
	/* White space ends the local part, except around dots (obs). */
	if (ap->t.ws && !(ap->local.len > 0 &&
	    ap->local.data[ap->local.len - 1] == '.') &&
	    !(ap->t.type == AT_ATOM && ap->t.s[0] == '.'))
		buf_reset(&ap->local);
	atok_append(&ap->local, &ap->t);
	ap->words = true;
}

/* Words that never met an '@' or '<': a mailbox without a domain. */
static void
ap_flush(struct aparse *ap)
{
	if (ap->words && ap->phrase.len > 0 && ap->al->n < MSGINFO_ADDR_MAX)
		al_add(ap->al, EA_MAILBOX, NULL, &ap->phrase, NULL);
	ap_reset(ap);
}

/* After an address: skip what a broken one left, up to ',' or ';'. */
static void
ap_skip_rest(struct aparse *ap)
{
	while (ap->t.type != AT_END && !ap_is(ap, ',') && !ap_is(ap, ';'))
		ap_next(ap);
	ap_reset(ap);
}

/* local "@" domain, at the '@'; local is the words just before it. */
static void
ap_addr_spec(struct aparse *ap)
{
	struct buf host = BUF_INIT;

	for (ap_next(ap); ap_word(ap); ap_next(ap)) {
		/* Obsolete CFWS is allowed around dots, not elsewhere. */
		if (host.len > 0 && ap->t.ws &&
		    host.data[host.len - 1] != '.' && ap->t.s[0] != '.')
			break;
		atok_append(&host, &ap->t);
	}
	if (ap->local.len > 0)
		al_add(ap->al, EA_MAILBOX, NULL, &ap->local,
		    host.len > 0 ? &host : NULL);
	buf_release(&host);
}

/* An angle-addr at its '<', with an obsolete route dropped. It stops at
 * ',' and ';' too, so an unclosed one does not eat the next address. */
static void
ap_angle(struct aparse *ap)
{
	struct buf local = BUF_INIT, host = BUF_INIT;
	bool at = false;

	ap_next(ap);
	if (ap_is(ap, '@')) {
		while (ap->t.type != AT_END && !ap_is(ap, ':') &&
		    !ap_is(ap, '>'))
			ap_next(ap);
		if (ap_is(ap, ':'))
			ap_next(ap);
	}
	for (; ap->t.type != AT_END && !ap_is(ap, '>') && !ap_is(ap, ',') &&
	    !ap_is(ap, ';') && !ap_is(ap, '<'); ap_next(ap)) {
		if (ap_word(ap))
			atok_append(at ? &host : &local, &ap->t);
		else if (ap_is(ap, '@'))
			at = true;
	}
	if (ap_is(ap, '>'))
		ap_next(ap);
	if (local.len > 0)
		al_add(ap->al, EA_MAILBOX, ap->phrase.len > 0 ? &ap->phrase :
		    NULL, &local, host.len > 0 ? &host : NULL);
	buf_release(&local);
	buf_release(&host);
}

/*
 * Parse an address-list leniently: anything parses, broken pieces are
 * skipped up to the next ',' or ';'. Linear in len; at most
 * MSGINFO_ADDR_MAX entries (a group end marker may pass it by one).
 */
static void
addr_list_parse(const char *s, size_t len, struct addr_list *al)
{
	struct aparse ap;
	bool group = false;

	memset(&ap, 0, sizeof(ap));
	ap.lx.p = s;
	ap.lx.end = s + len;
	ap.al = al;
	ap_next(&ap);
	while (ap.t.type != AT_END && al->n < MSGINFO_ADDR_MAX) {
		if (ap_word(&ap)) {
			ap_word_add(&ap);
			ap_next(&ap);
			continue;
		}
		if (ap_is(&ap, '<') || ap_is(&ap, '@')) {
			if (ap_is(&ap, '<'))
				ap_angle(&ap);
			else
				ap_addr_spec(&ap);
			ap_skip_rest(&ap);
			continue;
		}
		if (ap_is(&ap, ':') && !group) {
			al_add(al, EA_GROUP_START, NULL, &ap.phrase, NULL);
			group = true;
			ap_reset(&ap);
		} else if (ap_is(&ap, ';') || ap_is(&ap, ',')) {
			ap_flush(&ap);
			if (ap_is(&ap, ';') && group) {
				al_add(al, EA_GROUP_END, NULL, NULL, NULL);
				group = false;
			}
		}
		ap_next(&ap);
	}
	ap_flush(&ap);
	if (group)
		al_add(al, EA_GROUP_END, NULL, NULL, NULL);
	buf_release(&ap.phrase);
	buf_release(&ap.local);
}

static void
addr_field_parse(const struct mime_part *m, const char *msg,
    const char *name, struct buf *v, struct addr_list *al)
{
	if (field_get(m, msg, name, v))
		addr_list_parse(buf_cstr(v), v->len, al);
}

static void
env_addrs_write(struct buf *out, const struct addr_list *al)
{
	const struct env_addr *a;
	size_t i;

	if (al->n == 0) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_byte(out, '(');
	for (i = 0; i < al->n; i++) {
		a = &al->v[i];
		buf_append_byte(out, '(');
		imap_nstring(out, a->name);
		buf_append_str(out, " NIL ");
		imap_nstring(out, a->mailbox);
		buf_append_byte(out, ' ');
		/* Host NIL means group syntax (RFC 3501 7.4.2): a mailbox
		 * without a domain gets a placeholder, as Dovecot does. */
		if (a->kind == EA_MAILBOX && a->host == NULL)
			buf_append_str(out, "\"MISSING_DOMAIN\"");
		else
			imap_nstring(out, a->host);
		buf_append_byte(out, ')');
	}
	buf_append_byte(out, ')');
}

/* The first mailbox as mailbox@host, lower-cased; "" when none. */
static char *
first_addr(const struct mime_part *root, const char *msg, const char *name,
    struct buf *v)
{
	struct addr_list al = { NULL, 0, 0 };
	char *r = NULL, *p;
	size_t i;

	addr_field_parse(root, msg, name, v, &al);
	for (i = 0; i < al.n && r == NULL; i++) {
		if (al.v[i].kind != EA_MAILBOX)
			continue;
		r = al.v[i].host != NULL ? xasprintf("%s@%s", al.v[i].mailbox,
		    al.v[i].host) : xstrdup(al.v[i].mailbox);
		for (p = r; *p != '\0'; p++)
			*p = (char)ascii_lower((unsigned char)*p);
	}
	al_free(&al);
	return r != NULL ? r : xstrdup("");
}

/* --- ENVELOPE --- */

static void
env_nstring(struct buf *out, const struct mime_part *m, const char *msg,
    const char *name, struct buf *v)
{
	if (field_get(m, msg, name, v))
		imap_buf(out, v);
	else
		buf_append_str(out, "NIL");
}

/* The envelope of the message whose top part is m (RFC 3501 7.4.2). */
static void
envelope_write(struct buf *out, const char *msg, const struct mime_part *m)
{
	static const char *const fields[] = {
		"Sender", "Reply-To", "To", "Cc", "Bcc",
	};
	struct buf v = BUF_INIT;
	struct addr_list from = { NULL, 0, 0 }, al = { NULL, 0, 0 };
	size_t i;

	buf_append_byte(out, '(');
	env_nstring(out, m, msg, "Date", &v);
	buf_append_byte(out, ' ');
	env_nstring(out, m, msg, "Subject", &v);
	buf_append_byte(out, ' ');
	addr_field_parse(m, msg, "From", &v, &from);
	env_addrs_write(out, &from);
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		buf_append_byte(out, ' ');
		addr_field_parse(m, msg, fields[i], &v, &al);
		/* Sender and Reply-To absent or empty: From (RFC 3501). */
		env_addrs_write(out, al.n == 0 && i < 2 ? &from : &al);
		al_free(&al);
	}
	buf_append_byte(out, ' ');
	env_nstring(out, m, msg, "In-Reply-To", &v);
	buf_append_byte(out, ' ');
	env_nstring(out, m, msg, "Message-ID", &v);
	buf_append_byte(out, ')');
	al_free(&from);
	buf_release(&v);
}

/* --- BODY and BODYSTRUCTURE --- */

struct bs {
	const char	*msg;
	struct buf	*out;
	bool		 ext;		/* BODYSTRUCTURE: extension data */
	struct buf	 v;		/* scratch field value */
};

static void bs_part(struct bs *, const struct mime_part *);

static void
bs_params(struct bs *bs, const struct mime_param *params, size_t n,
    bool text)
{
	bool charset = false;
	char *name;
	size_t i;

	if (n == 0 && !text) {
		buf_append_str(bs->out, "NIL");
		return;
	}
	buf_append_byte(bs->out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_byte(bs->out, ' ');
		if (params[i].flags & MIME_PARAM_F_RAW2231) {
			name = xasprintf("%s*", params[i].name);
			imap_nstring(bs->out, name);
			free(name);
		} else {
			imap_nstring(bs->out, params[i].name);
			if (strcmp(params[i].name, "charset") == 0)
				charset = true;
		}
		buf_append_byte(bs->out, ' ');
		imap_nstring(bs->out, params[i].value);
	}
	/* RFC 2045 5.2: a text part's charset defaults to US-ASCII. */
	if (text && !charset)
		buf_printf(bs->out, "%s\"charset\" \"us-ascii\"",
		    n > 0 ? " " : "");
	buf_append_byte(bs->out, ')');
}

/* Content-Language as a list of its tags, comments dropped, or NIL. */
static void
bs_language(struct bs *bs, const struct mime_part *p)
{
	struct alex lx;
	const char *s;
	size_t n = 0;

	if (!field_get(p, bs->msg, "Content-Language", &bs->v)) {
		buf_append_str(bs->out, "NIL");
		return;
	}
	lx.p = buf_cstr(&bs->v);
	lx.end = lx.p + bs->v.len;
	for (;;) {
		alex_skip_cfws(&lx);
		if (lx.p < lx.end && *lx.p == ',') {
			lx.p++;
			continue;
		}
		if (lx.p >= lx.end)
			break;
		for (s = lx.p; lx.p < lx.end && *lx.p != ',' &&
		    *lx.p != '(' && !is_lws((unsigned char)*lx.p); lx.p++)
			;
		if (lx.p == s)
			lx.p++;
		buf_append_str(bs->out, n++ == 0 ? "(" : " ");
		imap_string(bs->out, s, (size_t)(lx.p - s));
	}
	buf_append_str(bs->out, n > 0 ? ")" : "NIL");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc, with a leading SP. */
static void
bs_ext_tail(struct bs *bs, const struct mime_part *p)
{
	buf_append_byte(bs->out, ' ');
	if (p->disposition == NULL)
		buf_append_str(bs->out, "NIL");
	else {
		buf_append_byte(bs->out, '(');
		imap_nstring(bs->out, p->disposition);
		buf_append_byte(bs->out, ' ');
		bs_params(bs, p->disp_params, p->disp_param_count, false);
		buf_append_byte(bs->out, ')');
	}
	buf_append_byte(bs->out, ' ');
	bs_language(bs, p);
	buf_append_byte(bs->out, ' ');
	env_nstring(bs->out, p, bs->msg, "Content-Location", &bs->v);
}

static void
bs_multipart(struct bs *bs, const struct mime_part *p)
{
	const struct mime_part *c;

	buf_append_byte(bs->out, '(');
	if (p->children == NULL)
		buf_append_str(bs->out, bs->ext ?
		    EMPTY_PART " NIL NIL NIL NIL)" : EMPTY_PART ")");
	for (c = p->children; c != NULL; c = c->next)
		bs_part(bs, c);
	buf_append_byte(bs->out, ' ');
	imap_nstring(bs->out, p->subtype);
	if (bs->ext) {
		buf_append_byte(bs->out, ' ');
		bs_params(bs, p->params, p->param_count, false);
		bs_ext_tail(bs, p);
	}
	buf_append_byte(bs->out, ')');
}

/* body-type-msg's envelope SP body SP lines, with a leading SP. */
static void
bs_message(struct bs *bs, const struct mime_part *p)
{
	buf_append_byte(bs->out, ' ');
	if (p->children != NULL) {
		envelope_write(bs->out, bs->msg, p->children);
		buf_append_byte(bs->out, ' ');
		bs_part(bs, p->children);
	} else
		buf_append_str(bs->out, bs->ext ?
		    NIL_ENVELOPE " " EMPTY_PART " NIL NIL NIL NIL)" :
		    NIL_ENVELOPE " " EMPTY_PART ")");
	buf_printf(bs->out, " %zu", p->lines);
}

static void
bs_single(struct bs *bs, const struct mime_part *p)
{
	bool text = strcmp(p->type, "text") == 0;

	buf_append_byte(bs->out, '(');
	imap_nstring(bs->out, p->type);
	buf_append_byte(bs->out, ' ');
	imap_nstring(bs->out, p->subtype);
	buf_append_byte(bs->out, ' ');
	bs_params(bs, p->params, p->param_count, text);
	buf_append_byte(bs->out, ' ');
	imap_nstring(bs->out, p->id);
	buf_append_byte(bs->out, ' ');
	imap_nstring(bs->out, p->description);
	buf_append_byte(bs->out, ' ');
	imap_nstring(bs->out, p->encoding);
	buf_printf(bs->out, " %zu", p->body_len);
	if (text)
		buf_printf(bs->out, " %zu", p->lines);
	else if (part_is_message(p))
		bs_message(bs, p);
	if (bs->ext) {
		buf_append_byte(bs->out, ' ');
		env_nstring(bs->out, p, bs->msg, "Content-MD5", &bs->v);
		bs_ext_tail(bs, p);
	}
	buf_append_byte(bs->out, ')');
}

/* Recursion is bounded by MIME_DEPTH_MAX: mime.h never nests deeper. */
static void
bs_part(struct bs *bs, const struct mime_part *p)
{
	if (part_is_multipart(p))
		bs_multipart(bs, p);
	else
		bs_single(bs, p);
}

static char *
bs_text(const char *msg, const struct mime_part *root, bool ext)
{
	struct buf out = BUF_INIT;
	struct bs bs = { msg, &out, ext, BUF_INIT };

	bs_part(&bs, root);
	buf_release(&bs.v);
	return buf_steal(&out);
}

/* --- the parts table --- */

struct parts_ctx {
	struct msginfo	*info;
	size_t		 cap;
};

static struct msginfo_part *
parts_entry(struct parts_ctx *pc, char *section, const char *type,
    const char *subtype)
{
	struct msginfo_part *e;

	if (pc->info->nparts == pc->cap) {
		pc->cap = pc->cap == 0 ? 8 : pc->cap * 2;
		pc->info->parts = xreallocarray(pc->info->parts, pc->cap,
		    sizeof(*pc->info->parts));
	}
	e = &pc->info->parts[pc->info->nparts++];
	memset(e, 0, sizeof(*e));
	e->section = section;
	e->type = xstrdup(type);
	e->subtype = xstrdup(subtype);
	return e;
}

static char *
section_join(const char *prefix, size_t n)
{
	return xasprintf("%s%s%zu", prefix, *prefix != '\0' ? "." : "", n);
}

static void parts_part(struct parts_ctx *, const struct mime_part *,
    char *);

static void
parts_children(struct parts_ctx *pc, const struct mime_part *p,
    const char *section)
{
	const struct mime_part *c;
	struct msginfo_part *e;
	size_t i = 1;

	if (p->children == NULL) {
		e = parts_entry(pc, section_join(section, 1), "text", "plain");
		e->hdr_off = e->body_off = p->body_off;
		return;
	}
	for (c = p->children; c != NULL; c = c->next)
		parts_part(pc, c, section_join(section, i++));
}

/* The sections inside message m (the root or an encapsulated one). */
static void
parts_message(struct parts_ctx *pc, const struct mime_part *m,
    const char *prefix)
{
	if (part_is_multipart(m))
		parts_children(pc, m, prefix);
	else
		parts_part(pc, m, section_join(prefix, 1));
}

/* Part p as section (taken over); recursion bounded by MIME_DEPTH_MAX. */
static void
parts_part(struct parts_ctx *pc, const struct mime_part *p, char *section)
{
	struct msginfo_part *e = parts_entry(pc, section, p->type,
	    p->subtype);

	e->hdr_off = p->hdr_off;
	e->hdr_len = p->hdr_len;
	e->body_off = p->body_off;
	e->body_len = p->body_len;
	if (part_is_multipart(p))
		parts_children(pc, p, section);
	else if (part_is_message(p) && p->children != NULL) {
		e->is_message = 1;
		e->msg_hdr_off = p->children->hdr_off;
		e->msg_hdr_len = p->children->hdr_len;
		parts_message(pc, p->children, section);
	}
}

static void
parts_build(struct msginfo *info, const struct mime_part *root)
{
	struct parts_ctx pc = { info, 0 };
	struct msginfo_part *e;

	e = parts_entry(&pc, xstrdup(""), root->type, root->subtype);
	e->hdr_off = e->msg_hdr_off = root->hdr_off;
	e->hdr_len = e->msg_hdr_len = root->hdr_len;
	e->body_off = root->body_off;
	e->body_len = root->body_len;
	e->is_message = 1;
	parts_message(&pc, root, "");
}

/* --- Date: (RFC 5322 3.3 and 4.3) --- */

struct dlex {
	const char	*p, *end;
};

static void
dl_skip(struct dlex *d)
{
	struct alex lx = { d->p, d->end };

	alex_skip_cfws(&lx);
	d->p = lx.p;
}

/* Up to max digits; their count in *nd_r (0: none). */
static int
dl_number(struct dlex *d, int max, int *nd_r)
{
	int v = 0, nd = 0;

	while (d->p < d->end && *d->p >= '0' && *d->p <= '9' && nd < max) {
		v = v * 10 + (*d->p++ - '0');
		nd++;
	}
	*nd_r = nd;
	return v;
}

/* A run of letters, lower-cased into w (cut to wsz - 1); its length. */
static size_t
dl_word(struct dlex *d, char *w, size_t wsz)
{
	size_t n = 0;

	while (d->p < d->end && ((*d->p >= 'a' && *d->p <= 'z') ||
	    (*d->p >= 'A' && *d->p <= 'Z'))) {
		if (n + 1 < wsz)
			w[n] = (char)ascii_lower((unsigned char)*d->p);
		n++;
		d->p++;
	}
	w[n + 1 < wsz ? n : wsz - 1] = '\0';
	return n;
}

static int
month_index(const char *w, size_t n)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int i;

	if (n < 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, w, 3) == 0)
			return i;
	return -1;
}

/* Zone offset in minutes east: +hhmm, -hhmm or an obsolete name; a
 * missing or unknown zone is +0000 (RFC 5322 4.3: "-0000"). */
static int
dl_zone(struct dlex *d)
{
	static const struct {
		const char *name;
		int off;
	} zones[] = {
		{ "est", -300 }, { "edt", -240 }, { "cst", -360 },
		{ "cdt", -300 }, { "mst", -420 }, { "mdt", -360 },
		{ "pst", -480 }, { "pdt", -420 },
	};
	char w[8];
	int sign, v, nd;
	size_t i;

	dl_skip(d);
	if (d->p < d->end && (*d->p == '+' || *d->p == '-')) {
		sign = *d->p++ == '-' ? -1 : 1;
		v = dl_number(d, 2, &nd);
		if (nd != 2)
			return 0;
		if (d->p < d->end && *d->p == ':')
			d->p++;
		v = v * 60 + dl_number(d, 2, &nd);
		return v < 24 * 60 ? sign * v : 0;
	}
	dl_word(d, w, sizeof(w));
	for (i = 0; i < ARRAY_SIZE(zones); i++)
		if (strcmp(w, zones[i].name) == 0)
			return zones[i].off;
	return 0;
}

/* hh ":" mm [":" ss]; -1 when malformed. */
static int
dl_time(struct dlex *d)
{
	int h, m, s = 0, nd;

	dl_skip(d);
	h = dl_number(d, 2, &nd);
	if (nd == 0 || d->p >= d->end || *d->p != ':')
		return -1;
	d->p++;
	m = dl_number(d, 2, &nd);
	if (nd != 2)
		return -1;
	if (d->p < d->end && *d->p == ':') {
		d->p++;
		s = dl_number(d, 2, &nd);
		if (nd != 2)
			return -1;
	}
	if (h > 23 || m > 59 || s > 60)
		return -1;
	return h * 3600 + m * 60 + s;
}

static int
dl_year(struct dlex *d)
{
	int y, nd;

	dl_skip(d);
	y = dl_number(d, 4, &nd);
	if (nd == 2)	/* obsolete two-digit years (RFC 5322 4.3) */
		return y < 50 ? 2000 + y : 1900 + y;
	if (nd == 3)
		return 1900 + y;
	return nd == 4 ? y : -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 1 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return mdays[m];
}

/*
 * [day-of-week ","] day month year time [zone], leniently ("-" between
 * day, month and year as in RFC 850, no comma after the weekday, missing
 * seconds or zone), or the asctime() order month day time [zone] year.
 */
static int64_t
date_parse(const char *s, size_t n)
{
	struct dlex d = { s, s + n };
	char w[16];
	int day = 0, mon = -1, year = -1, t = -1, zone = 0, nd;
	size_t wl;

	dl_skip(&d);
	if ((wl = dl_word(&d, w, sizeof(w))) > 0 &&
	    (mon = month_index(w, wl)) < 0) {
		dl_skip(&d);
		if (d.p < d.end && *d.p == ',')
			d.p++;
		dl_skip(&d);
		if ((wl = dl_word(&d, w, sizeof(w))) > 0)
			mon = month_index(w, wl);
	}
	dl_skip(&d);
	if (mon >= 0 && wl > 0) {		/* asctime() order */
		day = dl_number(&d, 2, &nd);
		t = dl_time(&d);
		zone = dl_zone(&d);
		year = dl_year(&d);
	} else if (wl == 0) {
		day = dl_number(&d, 2, &nd);
		dl_skip(&d);
		if (d.p < d.end && *d.p == '-')
			d.p++;
		dl_skip(&d);
		mon = month_index(w, dl_word(&d, w, sizeof(w)));
		dl_skip(&d);
		if (d.p < d.end && *d.p == '-')
			d.p++;
		year = dl_year(&d);
		t = dl_time(&d);
		zone = dl_zone(&d);
	}
	if (mon < 0 || year < 1900 || t < 0 || day < 1 ||
	    day > days_in_month(year, mon))
		return 0;
	return days_from_civil(year, mon + 1, day) * 86400 + t -
	    (int64_t)zone * 60;
}

/* --- base subject (RFC 5256 2.1) --- */

#define NO_MATCH	SIZE_MAX

/* subj-blob at p: past it and its trailing white space, or NO_MATCH. */
static size_t
blob_end(const char *d, size_t p, size_t e)
{
	size_t i;

	if (p >= e || d[p] != '[')
		return NO_MATCH;
	for (i = p + 1; i < e && d[i] != ']'; i++)
		if (d[i] == '[')
			return NO_MATCH;
	if (i >= e)
		return NO_MATCH;
	for (i++; i < e && d[i] == ' '; i++)
		;
	return i;
}

/* subj-refwd at p: ("re" / "fw" ["d"]) *WSP [subj-blob] ":". */
static size_t
refwd_end(const char *d, size_t p, size_t e)
{
	size_t q, b;

	if (e - p < 3 || !(mem_case_equal(d + p, "re", 2) ||
	    mem_case_equal(d + p, "fw", 2)))
		return NO_MATCH;
	q = p + 2;
	if (ascii_lower((unsigned char)d[p]) == 'f' && q < e &&
	    ascii_lower((unsigned char)d[q]) == 'd')
		q++;
	while (q < e && d[q] == ' ')
		q++;
	if ((b = blob_end(d, q, e)) != NO_MATCH)
		q = b;
	return q < e && d[q] == ':' ? q + 1 : NO_MATCH;
}

/*
 * Steps 3 to 5. When the leader fails after a run of blobs, step 4 would
 * take those blobs off one by one and step 3 fail the same way each time,
 * so they go at once (all but one that would leave nothing): linear.
 */
static void
strip_leaders(const char *d, size_t *s, size_t e)
{
	size_t p, q;
	bool moved;

	for (;;) {
		for (p = *s; (q = blob_end(d, p, e)) != NO_MATCH; p = q)
			;
		if ((q = refwd_end(d, p, e)) != NO_MATCH) {
			*s = q;
			continue;
		}
		if (*s < e && d[*s] == ' ') {
			(*s)++;
			continue;
		}
		for (moved = false; *s < p; moved = true) {
			q = blob_end(d, *s, e);
			if (q >= e)
				break;
			*s = q;
		}
		if (!moved)
			break;
	}
}

static char *
base_subject(const char *subj)
{
	struct buf b = BUF_INIT;
	const char *d;
	char *r;
	size_t i, s = 0, e;
	bool sp = false;

	for (i = 0; subj != NULL && subj[i] != '\0'; i++) {
		if (is_lws((unsigned char)subj[i])) {
			if (!sp)
				buf_append_byte(&b, ' ');
			sp = true;
		} else {
			buf_append_byte(&b, (uint8_t)subj[i]);
			sp = false;
		}
	}
	d = buf_cstr(&b);
	e = b.len;
	for (;;) {
		while (e > s && (d[e - 1] == ' ' || (e - s >= 5 &&
		    mem_case_equal(d + e - 5, "(fwd)", 5))))
			e -= d[e - 1] == ' ' ? 1 : 5;
		strip_leaders(d, &s, e);
		if (e - s >= 6 && mem_case_equal(d + s, "[fwd:", 5) &&
		    d[e - 1] == ']') {
			s += 5;
			e--;
			continue;
		}
		break;
	}
	r = xstrndup(d + s, e - s);
	buf_release(&b);
	return r;
}

/* --- search fields and text --- */

static char *
field_decoded(const struct mime_part *root, const char *msg,
    const char *name, struct buf *v)
{
	struct buf d = BUF_INIT;

	if (!field_get(root, msg, name, v))
		return NULL;
	msginfo_decode_header(buf_cstr(v), v->len, &d);
	return buf_steal(&d);
}

static char *
field_raw(const struct mime_part *root, const char *msg, const char *name,
    struct buf *v)
{
	return field_get(root, msg, name, v) ? buf_dup(v) : NULL;
}

static void
search_fields(struct msginfo *info, const char *msg,
    const struct mime_part *root)
{
	struct buf v = BUF_INIT;

	info->subject = field_decoded(root, msg, "Subject", &v);
	info->sort_subject = base_subject(info->subject);
	info->from = field_decoded(root, msg, "From", &v);
	info->to = field_decoded(root, msg, "To", &v);
	info->cc = field_decoded(root, msg, "Cc", &v);
	info->bcc = field_decoded(root, msg, "Bcc", &v);
	info->message_id = field_raw(root, msg, "Message-ID", &v);
	info->in_reply_to = field_raw(root, msg, "In-Reply-To", &v);
	info->references = field_raw(root, msg, "References", &v);
	if (field_get(root, msg, "Date", &v))
		info->date = date_parse(buf_cstr(&v), v.len);
	info->from_addr = first_addr(root, msg, "From", &v);
	info->to_addr = first_addr(root, msg, "To", &v);
	buf_release(&v);
}

/*
 * One header field starting at pos (a line that is not a continuation):
 * its name [pos, *name_end_r) and unfolded value in v. Returns the
 * offset of the next line, or 0 when the line is not a field.
 */
static size_t
header_field(const char *msg, size_t pos, size_t end, size_t *name_end_r,
    struct buf *v)
{
	const char *lf, *colon;
	size_t le, next, ne;

	lf = memchr(msg + pos, '\n', end - pos);
	next = lf != NULL ? (size_t)(lf - msg) + 1 : end;
	le = lf != NULL ? next - 1 : end;
	if ((colon = memchr(msg + pos, ':', le - pos)) == NULL)
		return 0;
	for (ne = (size_t)(colon - msg); ne > pos && is_lws(
	    (unsigned char)msg[ne - 1]); ne--)
		;
	*name_end_r = ne;
	buf_reset(v);
	buf_append(v, colon + 1, le - (size_t)(colon - msg) - 1);
	while (next < end && (msg[next] == ' ' || msg[next] == '\t')) {
		lf = memchr(msg + next, '\n', end - next);
		le = lf != NULL ? (size_t)(lf - msg) : end;
		if (v->len > 0 && v->data[v->len - 1] == '\r')
			v->len--;
		buf_append(v, msg + next, le - next);
		next = lf != NULL ? le + 1 : end;
	}
	return next;
}

static char *
headers_text(const char *msg, const struct mime_part *root)
{
	struct buf out, v = BUF_INIT;
	size_t pos = root->hdr_off, end = root->hdr_off + root->hdr_len;
	size_t next, ne, s, e;
	const char *lf;
	int r = 0;

	buf_init(&out, MSGINFO_TEXT_MAX);
	while (pos < end && r == 0) {
		if (msg[pos] == '\n' || (msg[pos] == '\r' && pos + 1 < end &&
		    msg[pos + 1] == '\n'))
			break;
		if (msg[pos] == ' ' || msg[pos] == '\t' ||
		    (next = header_field(msg, pos, end, &ne, &v)) == 0) {
			lf = memchr(msg + pos, '\n', end - pos);
			pos = lf != NULL ? (size_t)(lf - msg) + 1 : end;
			continue;
		}
		for (s = 0; s < v.len && is_lws((unsigned char)v.data[s]);)
			s++;
		for (e = v.len; e > s && is_lws((unsigned char)v.data[e - 1]);)
			e--;
		r = msgtext_utf8_append(&out, msg + pos, ne - pos);
		if (r == 0)
			r = msgtext_append_capped(&out, ": ", 2);
		if (r == 0)
			r = msginfo_decode_header(v.data + s, e - s, &out);
		if (r == 0)
			r = msgtext_append_capped(&out, "\n", 1);
		pos = next;
	}
	buf_release(&v);
	return buf_steal(&out);
}

/* Drop the CR of each CRLF: search text has one kind of line end. */
static void
crlf_to_lf(struct buf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++)
		if (b->data[i] != '\r' || i + 1 == b->len ||
		    b->data[i + 1] != '\n')
			b->data[o++] = b->data[i];
	if (b->data != NULL)
		buf_truncate(b, o);
}

/* One text part's text appended to out (joined with "\n"). */
static void
text_part_append(const char *msg, const struct mime_part *p,
    struct buf *out)
{
	const struct mime_param *cs = mime_part_param(p, "charset");
	bool html = strcmp(p->subtype, "html") == 0;
	struct buf raw, utf, txt;

	buf_init(&raw, TEXT_DECODE_MAX);
	buf_init(&utf, html ? TEXT_DECODE_MAX : MSGINFO_TEXT_MAX);
	buf_init(&txt, MSGINFO_TEXT_MAX);
	msgtext_transfer_decode(p->encoding, msg + p->body_off, p->body_len,
	    &raw);
	msginfo_to_utf8(cs != NULL ? cs->value : NULL, buf_cstr(&raw),
	    raw.len, &utf);
	if (html)
		msginfo_html_to_text(buf_cstr(&utf), utf.len, &txt);
	else
		crlf_to_lf(&utf);
	if (out->len == 0 ||
	    msgtext_append_capped(out, "\n", 1) == 0)
		msgtext_append_capped(out, html ? buf_cstr(&txt) :
		    buf_cstr(&utf), html ? txt.len : utf.len);
	buf_release(&raw);
	buf_release(&utf);
	buf_release(&txt);
}

/* Depth-first; recursion bounded by MIME_DEPTH_MAX. */
static void
text_collect(const char *msg, const struct mime_part *p, struct buf *out)
{
	const struct mime_part *c;

	if (out->len >= MSGINFO_TEXT_MAX)
		return;
	if (strcmp(p->type, "text") == 0 && p->children == NULL)
		text_part_append(msg, p, out);
	for (c = p->children; c != NULL; c = c->next)
		text_collect(msg, c, out);
}

static bool
attachment_find(const struct mime_part *p)
{
	const struct mime_part *c;

	if (!part_is_multipart(p) && ((p->disposition != NULL &&
	    strcmp(p->disposition, "attachment") == 0) ||
	    mime_part_disp_param(p, "filename") != NULL ||
	    mime_part_param(p, "name") != NULL))
		return true;
	for (c = p->children; c != NULL; c = c->next)
		if (attachment_find(c))
			return true;
	return false;
}

int
msginfo_build(const char *msg, size_t len, struct msginfo *info,
    const char **error_r)
{
	struct mime_part *root = NULL;
	struct buf out;

	memset(info, 0, sizeof(*info));
	if (msg == NULL && len > 0) {
		*error_r = "no message";
		return -1;
	}
	if (msg == NULL)
		msg = "";
	if (mime_parse(msg, len, &root, error_r) != 0)
		return -1;
	buf_init(&out, 0);
	envelope_write(&out, msg, root);
	info->envelope = buf_steal(&out);
	info->body = bs_text(msg, root, false);
	info->bodystructure = bs_text(msg, root, true);
	parts_build(info, root);
	search_fields(info, msg, root);
	info->headers_text = headers_text(msg, root);
	buf_init(&out, MSGINFO_TEXT_MAX);
	text_collect(msg, root, &out);
	info->body_text = buf_steal(&out);
	info->has_attachment = attachment_find(root);
	mime_free(&root);
	return 0;
}

void
msginfo_clear(struct msginfo *info)
{
	size_t i;

	if (info == NULL)
		return;
	free(info->envelope);
	free(info->body);
	free(info->bodystructure);
	for (i = 0; i < info->nparts; i++) {
		free(info->parts[i].section);
		free(info->parts[i].type);
		free(info->parts[i].subtype);
	}
	free(info->parts);
	free(info->subject);
	free(info->sort_subject);
	free(info->from);
	free(info->to);
	free(info->cc);
	free(info->bcc);
	free(info->message_id);
	free(info->in_reply_to);
	free(info->references);
	free(info->from_addr);
	free(info->to_addr);
	free(info->headers_text);
	free(info->body_text);
	memset(info, 0, sizeof(*info));
}
