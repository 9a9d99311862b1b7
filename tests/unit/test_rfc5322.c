/*
 * Unit tests for src/lib/rfc5322.c: finding header fields, and reading
 * From:-style address lists strictly enough that the address the policy
 * checks is the one a recipient's mailer uses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "buf.h"
#include "rfc5322.h"
#include "util.h"

/* Expected error texts, as rfc5322.c spells them. */
#define E_NAME		"invalid header field name"
#define E_VALUE_LONG	"header field value too long"
#define E_FIELD_MISSING	"header field missing"
#define E_FIELD_REPEATED "header field occurs more than once"
#define E_EMPTY		"empty address list"
#define E_TOO_MANY	"too many addresses"
#define E_CTL		"control character in address list"
#define E_UTF8		"invalid UTF-8 in address list"
#define E_BREAK		"line break in address list"
#define E_QUOTE		"unterminated quoted string"
#define E_COMMENT	"unterminated comment"
#define E_COMMENT_CLOSE	"unbalanced ) in address list"
#define E_LITERAL	"unterminated domain literal"
#define E_LITERAL_CHAR	"invalid character in domain literal"
#define E_CHAR		"invalid character in address list"
#define E_UNEXPECTED	"unexpected character in address list"
#define E_PHRASE	"invalid display name"
#define E_NO_DOMAIN	"missing @domain"
#define E_LOCAL_EMPTY	"missing local part"
#define E_LOCAL		"invalid local part"
#define E_DOMAIN	"missing domain"
#define E_BEFORE_ANGLE	"address before <address>"
#define E_MULTI_ANGLE	"more than one <address> in a mailbox"
#define E_EMPTY_ANGLE	"empty <>"
#define E_NO_CLOSE	"missing closing >"
#define E_ANGLE_JUNK	"unexpected text in <address>"
#define E_ROUTE		"invalid route in <address>"
#define E_JUNK		"unexpected text after address"
#define E_GROUP		"unterminated group"
#define E_GROUP_NAME	"invalid group name"
#define E_NESTED_GROUP	"nested group"
#define E_ADDR_LONG	"address too long"
/* addr.c's, passed through */
#define EA_HYPHEN	"domain label starts or ends with hyphen"
#define EA_NUMERIC	"domain ends in a numeric label"
#define EA_LOCAL_DOT	"misplaced dot in local part"
#define EA_DOMAIN_CHAR	"invalid character in domain"
#define EA_MAILBOX_LEN	"address longer than 254 octets"
#define EA_LOCAL_LEN	"local part longer than 64 octets"
#define EA_ROUTE	"invalid source route"

#define LIST_MAX	8

/* A copy of exactly len bytes, so ASan sees any read past the end. */
static char *
heap_copy(const char *s, size_t len)
{
	char *copy = xmalloc(len > 0 ? len : 1);

	memcpy(copy, s, len);
	return copy;
}

/* Address arrays live on the heap: they pass 1 KiB quickly. */
static struct addr *
addrs_new(size_t n)
{
	return xcalloc(n > 0 ? n : 1, sizeof(struct addr));
}

/* ------------------------------------------------------------------ */
/* address lists */

struct list_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in); set it for NULs */
	const char	*error;		/* NULL: must parse */
	const char	*want;		/* addresses, normal form, ' '-joined */
	unsigned	 flags;		/* exactly these, on address 0 */
};

#define OK(in, want) { in, 0, NULL, want, 0 }
#define OKF(in, want, flags) { in, 0, NULL, want, flags }
#define ERR(in, error) { in, 0, error, NULL, 0 }
#define ERRN(in, error) { in, sizeof(in) - 1, error, NULL, 0 }

static const struct list_case list_cases[] = {
	/* the plain forms */
	OK("user@example.com", "user@example.com"),
	OK("<user@example.com>", "user@example.com"),
	OK("John Doe <john@example.com>", "john@example.com"),
	OK("John Doe<john@example.com>", "john@example.com"),
	OK("\"John Doe\"<john@example.com>", "john@example.com"),
	OK("   John   Doe   <john@example.com>   ", "john@example.com"),
	OK("Jane\t<jane@example.com>\t", "jane@example.com"),
	OK("john@example.com (John Doe)", "john@example.com"),
	OK("User@Example.COM", "User@example.com"),
	OK("a@x.example, b@y.example", "a@x.example b@y.example"),
	OK("A <a@x.example>, \"B\" <b@y.example>,c@z.example",
	    "a@x.example b@y.example c@z.example"),
	OK("John Q. Public <jqp@example.com>", "jqp@example.com"),
	/* real-world From: lines */
	OK("\"Roe, Jane\" <Jane.Roe@contoso.com>", "Jane.Roe@contoso.com"),
	OK("Jane Roe <jane.roe@gmail.com>", "jane.roe@gmail.com"),
	OK("\"Jane Roe via Users\" <users@lists.example.org>",
	    "users@lists.example.org"),
	OK("Jane Roe via Users <users@lists.example.org>",
	    "users@lists.example.org"),
	OK("'Jane Roe' via Users <users@googlegroups.com>",
	    "users@googlegroups.com"),
	OK("\"jane@example.com\" <jane@example.com>", "jane@example.com"),
	OK("=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>",
	    "juergen@example.de"),
	OK("=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	    "PIRARD@vm1.ulg.ac.be"),
	OK("Amazon.com <shipment-tracking@amazon.com>",
	    "shipment-tracking@amazon.com"),
	OK("no-reply@accounts.google.com", "no-reply@accounts.google.com"),
	/* folded values (raw, as a caller might pass them) */
	OK("\"Jane Roe\"\r\n <jane@example.com>", "jane@example.com"),
	OK("\"Jane\r\n Roe\" <jane@example.com>", "jane@example.com"),
	OK("Jane\n\t<jane@example.com>", "jane@example.com"),
	OK("a@x.example,\r\n\tb@y.example", "a@x.example b@y.example"),
	/* comments */
	OK("(c) john (x) . (y) doe (z) @ (w) example (v) . com (u)",
	    "john.doe@example.com"),
	OK("jane@example.com (a (nested (deep)) comment)",
	    "jane@example.com"),
	OK("jane@example.com (a \\) b \\( c)", "jane@example.com"),
	OK("Jane (Sales) Roe <jane@example.com> (HQ)", "jane@example.com"),
	OK("<jane(inside)@example.com>", "jane@example.com"),
	/* quoted strings */
	OK("\"Jane \\\"JR\\\" Roe\" <jr@example.com>", "jr@example.com"),
	OKF("\"jane roe\"@example.com", "\"jane roe\"@example.com",
	    ADDR_F_QUOTED | ADDR_F_NEEDS_QUOTES),
	OKF("\"ceo@bank.example\"@evil.example",
	    "\"ceo@bank.example\"@evil.example",
	    ADDR_F_QUOTED | ADDR_F_NEEDS_QUOTES | ADDR_F_QUOTED_AT),
	/* groups */
	OK("Team: a@x.example, B <b@y.example>;", "a@x.example b@y.example"),
	OK("Team: a@x.example; , c@z.example", "a@x.example c@z.example"),
	OK("undisclosed-recipients:;, a@x.example", "a@x.example"),
	OK("Team:(none);,a@x.example", "a@x.example"),
	ERR("Team:;a@x.example", E_JUNK),
	ERR("undisclosed-recipients:;", E_EMPTY),
	ERR("Team: a@x.example", E_GROUP),
	ERR("Team: a@x.example b@y.example;", E_JUNK),
	ERR("A: B: c@d.example;;", E_NESTED_GROUP),
	ERR(": a@x.example;", E_GROUP_NAME),
	ERR(".Team: a@x.example;", E_GROUP_NAME),
	/* obsolete forms */
	OKF("<@a.example,@b.example:user@c.example>", "user@c.example",
	    ADDR_F_SOURCE_ROUTE),
	OKF("Name <@relay.example:u@c.example>", "u@c.example",
	    ADDR_F_SOURCE_ROUTE),
	OKF("<,@a.example,,@b.example:user@c.example>", "user@c.example",
	    ADDR_F_SOURCE_ROUTE),
	OK("a@x.example,, ,b@y.example,", "a@x.example b@y.example"),
	OK("john. doe @example.com", "john.doe@example.com"),
	ERR("<@a.example user@b.example>", E_ROUTE),
	ERR("<@:u@b.example>", E_DOMAIN),
	ERR("<@a.example:>", E_LOCAL_EMPTY),
	ERR("<:u@b.example>", E_ANGLE_JUNK),
	ERR("<@[192.0.2.1]:u@b.example>", EA_ROUTE),
	/* domains */
	OKF("user@[192.0.2.1]", "user@[192.0.2.1]", ADDR_F_IP_LITERAL),
	OKF("<user@[IPv6:2001:DB8::1]>", "user@[IPv6:2001:db8::1]",
	    ADDR_F_IP_LITERAL),
	OKF("user@Example.COM.", "user@example.com", ADDR_F_TRAILING_DOT),
	ERR("u@[192.0.2.1", E_LITERAL),
	ERR("u@[192.0.2.1 ]", E_LITERAL_CHAR),
	ERR("u@-bad.example", EA_HYPHEN),
	ERR("u@example.123", EA_NUMERIC),
	ERR("u..v@example.com", EA_LOCAL_DOT),
	ERR("u@example..com", "empty label in domain"),
	ERR("u@b[192.0.2.1]", E_JUNK),
	/* 8-bit */
	OK("\"J\xc3\xbcrgen M\xc3\xbcller\" <j@example.de>", "j@example.de"),
	OK("J\xc3\xbcrgen M\xc3\xbcller <j@example.de>", "j@example.de"),
	OK("j@example.de (J\xc3\xbcrgen)", "j@example.de"),
	OKF("<j\xc3\xbcrgen@m\xc3\xbcller.example>",
	    "j\xc3\xbcrgen@m\xc3\xbcller.example", ADDR_F_UTF8),
	OKF("\xe7\x94\xb0\xe4\xb8\xad <\xe7\x94\xb0\xe4\xb8\xad@"
	    "example.jp>", "\xe7\x94\xb0\xe4\xb8\xad@example.jp",
	    ADDR_F_UTF8_LOCAL),
	/* a lax decoder reading 0xe0 as a lead byte would eat the quote */
	ERR("\"\xe0\" <a@b.example>, c@d.example", E_UTF8),
	ERR("J\xfcrgen <j@example.de>", E_UTF8),
	ERR("j@example.de (J\xfcrgen)", E_UTF8),
	ERR("\xc2\x85 <a@b.example>", E_CTL),
	ERR("\xed\xa0\x80 <a@b.example>", E_UTF8),
	ERR("Name \xe2\x80", E_UTF8),

	/* tricks: the display name is never the address */
	OK("\"ceo@bank.example\" <attacker@evil.example>",
	    "attacker@evil.example"),
	OK("\"<ceo@bank.example>\" <attacker@evil.example>",
	    "attacker@evil.example"),
	OK("ceo (ceo@bank.example) <attacker@evil.example>",
	    "attacker@evil.example"),
	OK("<attacker@evil.example> (ceo@bank.example)",
	    "attacker@evil.example"),
	OK("=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?= <attacker@evil.example>",
	    "attacker@evil.example"),
	OK("ceo@bank.example, attacker@evil.example",
	    "ceo@bank.example attacker@evil.example"),
	ERR("ceo@bank.example <attacker@evil.example>", E_BEFORE_ANGLE),
	ERR("ceo@bank.example (x) <attacker@evil.example>", E_BEFORE_ANGLE),
	ERR("<ceo@bank.example> <attacker@evil.example>", E_MULTI_ANGLE),
	ERR("Name <ceo@bank.example><attacker@evil.example>",
	    E_MULTI_ANGLE),
	ERR("Name <a@b.example> Other <c@d.example>", E_JUNK),
	ERR("Name <a@b.example> trailing", E_JUNK),
	ERR("<a@b.example>x@evil.example", E_JUNK),
	ERR("a@b.example x@evil.example", E_JUNK),
	ERR("a@b@evil.example", E_JUNK),
	ERR("a@b.example; c@d.example", E_JUNK),
	ERR("a@b.example>", E_JUNK),
	ERR("Name a@b.example>", E_LOCAL),
	ERR("=?utf-8?q?ceo@bank.example?= <a@evil.example>", EA_DOMAIN_CHAR),
	/* fullwidth < and > are letters, not brackets */
	ERR("Name \xef\xbc\x9c" "ceo@bank.example\xef\xbc\x9e "
	    "<a@evil.example>", E_LOCAL),
	/* unbalanced quotes, comments, brackets */
	ERR("\"unterminated <a@b.example>", E_QUOTE),
	ERR("\"a\\", E_QUOTE),
	ERR("a@b.example (unterminated", E_COMMENT),
	ERR("a@b.example (a (b)", E_COMMENT),
	ERR("a@b.example (a \\)", E_COMMENT),
	ERR("a@b.example )", E_COMMENT_CLOSE),
	ERR("Name <a@b.example", E_NO_CLOSE),
	ERR("Name <a@b.example, c@d.example>", E_ANGLE_JUNK),
	ERR("<a@<b.example>>", E_DOMAIN),
	ERR("<<a@b.example>>", E_ANGLE_JUNK),
	ERR("> a@b.example", E_UNEXPECTED),
	ERR("a]@b.example", E_CHAR),
	ERR("a\\b@example.com", E_CHAR),
	/* control characters, NUL, broken folds */
	ERRN("a@b.example\0", E_CTL),
	ERRN("\"Ja\0ne\" <a@b.example>", E_CTL),
	ERRN("a@b.example (x\0)", E_CTL),
	ERRN("\0", E_CTL),
	ERR("a\x01" "b@example.com", E_CTL),
	ERR("a@b.example\x7f", E_CTL),
	ERR("\"a\\\x01\" <a@b.example>", E_CTL),
	ERR("a@b.example\r\nc@d.example", E_BREAK),
	ERR("Name\r<a@b.example>", E_BREAK),
	ERR("a@b.example\n", E_BREAK),
	ERR("u@[192.0.2.1\x01]", E_CTL),
	/* missing pieces */
	ERR("", E_EMPTY),
	ERR("   ", E_EMPTY),
	ERR("(only a comment)", E_EMPTY),
	ERR(", ,", E_EMPTY),
	ERR("John Doe", E_NO_DOMAIN),
	ERR("\"ceo@bank.example\"", E_NO_DOMAIN),
	ERR("Name <jane>", E_NO_DOMAIN),
	ERR("jane@", E_DOMAIN),
	ERR("jane@ <x@y.example>", E_DOMAIN),
	ERR("@example.com", E_LOCAL_EMPTY),
	ERR("<>", E_EMPTY_ANGLE),
	ERR("Name <>", E_EMPTY_ANGLE),
	ERR("Name <", E_NO_CLOSE),
	ERR(". <a@b.example>", E_PHRASE),
	ERR("a b@example.com", E_LOCAL),
	ERR("a\"b\"@example.com", E_LOCAL),
	ERR(";", E_UNEXPECTED),
};

/* Parse an exact-size heap copy; out and its addresses, ' '-joined. */
static int
list_parse(const char *in, size_t len, size_t max, struct buf *text,
    size_t *n_r, const char **error_r)
{
	struct addr *out = addrs_new(max);
	char *copy = heap_copy(in, len), one[ADDR_TEXT_MAX + 1];
	int rc;

	rc = rfc5322_mailbox_list(copy, len, out, max, n_r, error_r);
	free(copy);
	buf_reset(text);
	for (size_t i = 0; rc == 0 && i < *n_r; i++) {
		addr_format(&out[i], one, sizeof(one));
		buf_printf(text, "%s%s", i > 0 ? " " : "", one);
	}
	free(out);
	return rc;
}

static void
list_check(size_t i, const struct list_case *c)
{
	size_t len = c->len != 0 ? c->len : strlen(c->in), n = 99;
	const char *error = NULL;
	struct buf text;
	struct addr *out;
	char *copy;
	int rc;

	buf_init(&text, 0);
	rc = list_parse(c->in, len, LIST_MAX, &text, &n, &error);
	if (c->error != NULL) {
		cr_expect_eq(rc, -1, "case %zu <%s>: parsed as <%s>", i, c->in,
		    buf_cstr(&text));
		if (rc == -1)
			cr_expect_str_eq(error, c->error, "case %zu <%s>", i,
			    c->in);
		cr_expect_eq(n, 0u, "case %zu: n %zu on error", i, n);
	} else {
		cr_expect_eq(rc, 0, "case %zu <%s>: %s", i, c->in,
		    rc == 0 ? "" : error);
		if (rc == 0 && c->want != NULL)
			cr_expect_str_eq(buf_cstr(&text), c->want,
			    "case %zu <%s>", i, c->in);
	}
	buf_release(&text);
	if (c->error != NULL || c->flags == 0)
		return;
	copy = heap_copy(c->in, len);
	out = addrs_new(LIST_MAX);
	cr_assert_eq(rfc5322_mailbox_list(copy, len, out, LIST_MAX, &n,
	    &error), 0);
	cr_expect_eq(out[0].flags, c->flags, "case %zu <%s>: flags %#x, "
	    "want %#x", i, c->in, out[0].flags, c->flags);
	free(copy);
	free(out);
}

Test(rfc5322, list_table)
{
	cr_expect_geq(ARRAY_SIZE(list_cases), 50u);
	for (size_t i = 0; i < ARRAY_SIZE(list_cases); i++)
		list_check(i, &list_cases[i]);
}

/* RFC 5322 A.1.2 and A.6.1 examples, trailing "." dropped, and A.5. */
Test(rfc5322, rfc_examples)
{
	static const struct {
		const char *in, *want;
	} ok[] = {
		{ "\"Joe Q. Public\" <john.q.public@example.com>",
		    "john.q.public@example.com" },
		{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? "
		    "<one@y.test>", "mary@x.test jdoe@example.org one@y.test" },
		{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
		    "<sysservices@example.net>",
		    "boss@nil.test sysservices@example.net" },
		{ "A Group:Ed Jones <c@a.test>,joe@where.test,John "
		    "<jdoe@one.test>;",
		    "c@a.test joe@where.test jdoe@one.test" },
		{ "Pete(A nice \\) chap) <pete(his account)@silly.test"
		    "(his host)>", "pete@silly.test" },
		{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's "
		    "host.)public.example>,\r\n         joe@example.org,\r\n"
		    "  John <jdoe@one.test> (my dear friend); (the end of the "
		    "group)",
		    "c@public.example joe@example.org jdoe@one.test" },
		{ "Joe Q. Public <john.q.public@example.com>",
		    "john.q.public@example.com" },
		{ "Mary Smith <@node.test:mary@example.net>",
		    "mary@example.net" },
		{ "Jane Brown <j-brown@other.example>",
		    "j-brown@other.example" },
		{ "John Doe <jdoe@machine(comment).  example>",
		    "jdoe@machine.example" },
		{ "Mary Smith\r\n  \r\n <mary@example.net>",
		    "mary@example.net" },
	};
	struct buf text;
	const char *error = NULL;
	size_t n;

	buf_init(&text, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int rc = list_parse(ok[i].in, strlen(ok[i].in), LIST_MAX,
		    &text, &n, &error);

		cr_expect_eq(rc, 0, "example %zu: %s", i, rc ? error : "");
		if (rc == 0)
			cr_expect_str_eq(buf_cstr(&text), ok[i].want,
			    "example %zu", i);
	}
	buf_release(&text);
}

/* A list of k addresses a0@x.example, ... with the given separator. */
static char *
make_list(size_t k, const char *prefix, const char *suffix)
{
	struct buf b;

	buf_init(&b, 0);
	buf_append_str(&b, prefix);
	for (size_t i = 0; i < k; i++)
		buf_printf(&b, "%sa%zu@x.example", i > 0 ? ", " : "", i);
	buf_append_str(&b, suffix);
	return buf_steal(&b);
}

Test(rfc5322, list_count_limit)
{
	struct buf text;
	const char *error;
	size_t n;
	char *s;

	buf_init(&text, 0);
	for (size_t max = 0; max <= LIST_MAX; max++) {
		for (int group = 0; group < 2; group++) {
			/* exactly max */
			s = make_list(max, group ? "G: " : "", group ? ";" :
			    "");
			error = NULL;
			if (max == 0)
				cr_expect_eq(list_parse(s, strlen(s), max,
				    &text, &n, &error), -1);
			else {
				cr_expect_eq(list_parse(s, strlen(s), max,
				    &text, &n, &error), 0, "max %zu: %s", max,
				    error);
				cr_expect_eq(n, max);
			}
			free(s);
			/* one more */
			s = make_list(max + 1, group ? "G: " : "",
			    group ? ";" : "");
			error = NULL;
			cr_expect_eq(list_parse(s, strlen(s), max, &text, &n,
			    &error), -1, "max %zu + 1 parsed", max);
			cr_expect_str_eq(error, E_TOO_MANY);
			cr_expect_eq(n, 0u);
			free(s);
		}
	}
	buf_release(&text);
}

/* A mailbox of exactly len octets: a long local part and domain. */
static char *
make_mailbox(size_t len)
{
	size_t local = len - 1 - 60 > 64 ? 64 : len - 1 - 60, dom = len - 1 -
	    local, k = 0;
	char *s = xmalloc(len + 1);

	memset(s, 'a', local);
	s[local] = '@';
	/* labels of up to 60 'b's with dots, ending in a letter */
	for (size_t i = 0; i < dom; i++) {
		k = (k + 1) % 61;
		s[local + 1 + i] = k == 0 && i + 1 < dom ? '.' : 'b';
	}
	s[len] = '\0';
	return s;
}

Test(rfc5322, address_length_limit)
{
	struct buf text, in;
	const char *error;
	char *m;
	size_t n;

	buf_init(&text, 0);
	buf_init(&in, 0);
	for (size_t len = 252; len <= 260; len++) {
		m = make_mailbox(len);
		cr_assert_eq(strlen(m), len);
		for (int form = 0; form < 3; form++) {
			buf_reset(&in);
			if (form == 0)
				buf_printf(&in, "%s", m);
			else if (form == 1)
				buf_printf(&in, "Name <%s>", m);
			else
				buf_printf(&in, "(c) %s (c)", m);
			error = NULL;
			if (len <= ADDR_MAILBOX_MAX)
				cr_expect_eq(list_parse(in.data, in.len,
				    LIST_MAX, &text, &n, &error), 0,
				    "len %zu form %d: %s", len, form, error);
			else {
				cr_expect_eq(list_parse(in.data, in.len,
				    LIST_MAX, &text, &n, &error), -1);
				cr_expect(error != NULL && (strcmp(error,
				    EA_MAILBOX_LEN) == 0 || strcmp(error,
				    E_ADDR_LONG) == 0), "len %zu: %s", len,
				    error);
			}
		}
		free(m);
	}
	/* local part 64 and 65 through the parser */
	buf_reset(&in);
	for (size_t i = 0; i < 64; i++)
		buf_append_byte(&in, 'l');
	buf_append_str(&in, "@x.example");
	cr_expect_eq(list_parse(in.data, in.len, 1, &text, &n, &error), 0);
	buf_reset(&in);
	for (size_t i = 0; i < 65; i++)
		buf_append_byte(&in, 'l');
	buf_append_str(&in, "@x.example");
	cr_expect_eq(list_parse(in.data, in.len, 1, &text, &n, &error), -1);
	cr_expect_str_eq(error, EA_LOCAL_LEN);
	/* far longer than any buffer: refused, not truncated */
	buf_reset(&in);
	buf_append_str(&in, "<");
	for (size_t i = 0; i < 5000; i++)
		buf_append_byte(&in, 'l');
	buf_append_str(&in, "@x.example>");
	cr_expect_eq(list_parse(in.data, in.len, 1, &text, &n, &error), -1);
	cr_expect_str_eq(error, E_ADDR_LONG);
	/* a long display name is fine */
	buf_reset(&in);
	for (size_t i = 0; i < 5000; i++)
		buf_append_str(&in, i % 7 == 0 ? " " : "n");
	buf_append_str(&in, "<a@x.example>");
	cr_expect_eq(list_parse(in.data, in.len, 1, &text, &n, &error), 0);
	cr_expect_str_eq(buf_cstr(&text), "a@x.example");
	buf_release(&in);
	buf_release(&text);
}

/*
 * "Byte by byte": the parser is not incremental, so every prefix of every
 * case is parsed from its own exact-size copy: no read past the end, an
 * answer that is either addresses within max or an error with n 0.
 */
Test(rfc5322, list_prefixes)
{
	struct addr *out = addrs_new(LIST_MAX);

	for (size_t i = 0; i < ARRAY_SIZE(list_cases); i++) {
		const struct list_case *c = &list_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		for (size_t k = 0; k <= len; k++) {
			char *copy = heap_copy(c->in, k);
			const char *error = NULL;
			size_t n = 99;
			int rc;

			rc = rfc5322_mailbox_list(copy, k, out, LIST_MAX, &n,
			    &error);
			free(copy);
			if (rc == 0) {
				cr_expect(n >= 1 && n <= LIST_MAX);
				for (size_t j = 0; j < n; j++)
					cr_expect(out[j].domain_len > 0);
			} else {
				cr_expect_eq(rc, -1);
				cr_expect_not_null(error);
				cr_expect_eq(n, 0u);
			}
		}
	}
	free(out);
}

/* What is accepted formats to a list that parses back the same. */
Test(rfc5322, list_round_trip)
{
	struct addr *out = addrs_new(LIST_MAX), *again = addrs_new(LIST_MAX);
	char one[ADDR_TEXT_MAX + 1];
	const char *error;
	struct buf b;
	size_t n, m;

	buf_init(&b, 0);
	for (size_t i = 0; i < ARRAY_SIZE(list_cases); i++) {
		const struct list_case *c = &list_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		if (c->error != NULL)
			continue;
		cr_assert_eq(rfc5322_mailbox_list(c->in, len, out, LIST_MAX,
		    &n, &error), 0, "case %zu", i);
		buf_reset(&b);
		for (size_t j = 0; j < n; j++) {
			addr_format(&out[j], one, sizeof(one));
			buf_printf(&b, "%s<%s>", j > 0 ? ", " : "", one);
		}
		cr_assert_eq(rfc5322_mailbox_list(b.data, b.len, again,
		    LIST_MAX, &m, &error), 0, "case %zu <%s>", i, b.data);
		cr_expect_eq(m, n);
		for (size_t j = 0; j < n && j < m; j++)
			cr_expect(addr_equal(&out[j], &again[j]), "case %zu",
			    i);
	}
	buf_release(&b);
	free(out);
	free(again);
}

Test(rfc5322, error_clears_output)
{
	static const char in[] = "a@x.example, b@y.example, junk junk";
	struct addr *out = addrs_new(LIST_MAX);
	const char *error = NULL;
	size_t n = 99;

	memset(out, 0x55, LIST_MAX * sizeof(*out));
	cr_assert_eq(rfc5322_mailbox_list(in, sizeof(in) - 1, out, LIST_MAX,
	    &n, &error), -1);
	cr_expect_str_eq(error, E_NO_DOMAIN);
	cr_expect_eq(n, 0u);
	cr_expect_eq(out[0].local_len, 0u);
	cr_expect_eq(out[1].domain_len, 0u);
	/* a NULL value of length 0 is an empty list, not a crash */
	cr_expect_eq(rfc5322_mailbox_list(NULL, 0, out, LIST_MAX, &n,
	    &error), -1);
	cr_expect_str_eq(error, E_EMPTY);
	free(out);
}

/* ------------------------------------------------------------------ */
/* finding fields */

struct field_case {
	const char	*hdr;
	size_t		 len;		/* 0: strlen(hdr) */
	const char	*name;
	size_t		 nth;
	int		 rc;
	const char	*value;		/* rc 1: expected; rc -1: error */
	size_t		 value_len;	/* 0: strlen(value) */
	size_t		 count;		/* rfc5322_field_count() */
};

#define FOUND(h, name, nth, value, count) \
	{ h, 0, name, nth, 1, value, 0, count }
#define NONE(h, name, nth, count) { h, 0, name, nth, 0, NULL, 0, count }
#define FERR(h, name, error) { h, 0, name, 0, -1, error, 0, 0 }

static const struct field_case field_cases[] = {
	FOUND("From: a@b.example\r\nTo: c@d.example\r\n\r\n", "From", 0,
	    "a@b.example", 1),
	FOUND("To: c@d.example\r\nFROM: a@b.example\r\n", "From", 0,
	    "a@b.example", 1),
	FOUND("from: a@b.example\r\n", "FROM", 0, "a@b.example", 1),
	FOUND("From-X: no\r\nX-From: no\r\nFromage: no\r\nFrom: yes\r\n",
	    "From", 0, "yes", 1),
	FOUND("From  : yes\r\n", "From", 0, "yes", 1),
	FOUND("From\t: yes\r\n", "From", 0, "yes", 1),
	FOUND("From:yes\r\n", "From", 0, "yes", 1),
	FOUND("From: Jane\r\n <jane@x.example>\r\nTo: y\r\n", "From", 0,
	    "Jane <jane@x.example>", 1),
	FOUND("From: Jane\n\t<jane@x.example>\nTo: y\n", "From", 0,
	    "Jane\t<jane@x.example>", 1),
	FOUND("From: a\r\n \r\n b\r\n", "From", 0, "a  b", 1),
	FOUND("From:  a  b  \r\n", "From", 0, "a  b", 1),
	FOUND("From:\r\n  a@b.example\r\n", "From", 0, "a@b.example", 1),
	FOUND("From:\r\n", "From", 0, "", 1),
	FOUND("From:   \r\n  \r\n\t\r\n", "From", 0, "", 1),
	FOUND("To: x\r\nFrom: a@b.example", "From", 0, "a@b.example", 1),
	FOUND("To: x\r\nFrom: a@b.example\r\n \r\n", "From", 0,
	    "a@b.example", 1),
	/* a bare CR ends a line, as it will once the DATA reader is done */
	FOUND("Subject: x\rFrom: evil@x.example\r\n", "From", 0,
	    "evil@x.example", 1),
	FOUND("From: a\r\nTo: x\r\nFrom: b\r\n", "From", 1, "b", 2),
	NONE("From: a\r\nTo: x\r\nFrom: b\r\n", "From", 2, 2),
	/* an mbox separator is not a field */
	FOUND("From user@x.example Mon Jan  1 00:00:00 2024\r\n"
	    "From: real@x.example\r\n", "From", 0, "real@x.example", 1),
	/* the header ends at the first empty line, however it is ended */
	NONE("To: a\r\n\r\nFrom: b\r\n", "From", 0, 0),
	NONE("To: a\n\nFrom: b\n", "From", 0, 0),
	NONE("To: a\r\n\nFrom: b\n", "From", 0, 0),
	NONE("To: a\r\r\nFrom: b\n", "From", 0, 0),
	NONE("\r\nFrom: b\r\n", "From", 0, 0),
	NONE("", "From", 0, 0),
	/* a continuation line or text inside a value is not a field */
	NONE(" From: x\r\n", "From", 0, 0),
	NONE("Subject: x\r\n From: y\r\n", "From", 0, 0),
	NONE("Subject: From: x\r\n", "From", 0, 0),
	NONE("Fro: x\r\nFrom\r\nFrom x: y\r\n", "From", 0, 0),
	FOUND("DKIM-Signature: v=1; h=to:subject\r\n\t:from:date;\r\n"
	    "From: a@b.example\r\n", "From", 0, "a@b.example", 1),
	FOUND("Resent-From: r@x.example\r\nFrom: a@b.example\r\n",
	    "Resent-From", 0, "r@x.example", 1),
	FERR("From: x\r\n", "", E_NAME),
	FERR("From: x\r\n", "Fr om", E_NAME),
	FERR("From: x\r\n", "From:", E_NAME),
	FERR("From: x\r\n", "Fr\xc3\xb6m", E_NAME),
	/* the value is raw: the address parser judges NULs */
	{ "From: a\0b\r\n", 11, "From", 0, 1, "a\0b", 3, 1 },
	{ "X\0: y\r\nFrom: a\r\n", 16, "From", 0, 1, "a", 0, 1 },
};

static void
field_check(size_t i, const struct field_case *c)
{
	size_t len = c->len != 0 ? c->len : strlen(c->hdr);
	char *copy = heap_copy(c->hdr, len);
	const char *error = NULL;
	struct buf v;
	int rc;

	buf_init(&v, 0);
	buf_append_str(&v, "stale");
	rc = rfc5322_field_find(copy, len, c->name, c->nth, &v, &error);
	cr_expect_eq(rc, c->rc, "case %zu: rc %d, want %d (%s)", i, rc,
	    c->rc, rc == -1 ? error : "");
	if (rc == 1 && c->rc == 1) {
		size_t want = c->value_len ? c->value_len : strlen(c->value);

		cr_expect_eq(v.len, want, "case %zu: <%s> want <%s>", i,
		    buf_cstr(&v), c->value);
		cr_expect(v.len == want &&
		    memcmp(buf_cstr(&v), c->value, want) == 0,
		    "case %zu: <%s> want <%s>", i, buf_cstr(&v), c->value);
	} else {
		cr_expect_eq(v.len, 0u, "case %zu: value left", i);
		if (rc == -1 && c->rc == -1)
			cr_expect_str_eq(error, c->value, "case %zu", i);
	}
	cr_expect_eq(rfc5322_field_count(copy, len, c->name), c->count,
	    "case %zu: count", i);
	free(copy);
	buf_release(&v);
}

Test(rfc5322, field_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_cases); i++)
		field_check(i, &field_cases[i]);
}

/* Every prefix of every header, from its own copy: no over-read. */
Test(rfc5322, field_prefixes)
{
	struct buf v;

	buf_init(&v, 0);
	for (size_t i = 0; i < ARRAY_SIZE(field_cases); i++) {
		const struct field_case *c = &field_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->hdr);

		for (size_t k = 0; k <= len; k++) {
			char *copy = heap_copy(c->hdr, k);
			const char *error = NULL;
			size_t count = rfc5322_field_count(copy, k, c->name);
			int rc;

			rc = rfc5322_field_find(copy, k, c->name, count, &v,
			    &error);
			cr_expect(rc == 0 || (rc == -1 && c->rc == -1));
			if (count > 0) {
				rc = rfc5322_field_find(copy, k, c->name,
				    count - 1, &v, &error);
				cr_expect_eq(rc, 1);
				cr_expect(memchr(buf_cstr(&v), '\n', v.len) ==
				    NULL && memchr(buf_cstr(&v), '\r',
				    v.len) == NULL);
			}
			free(copy);
		}
	}
	buf_release(&v);
}

Test(rfc5322, count)
{
	static const char h[] = "From: a\r\nFROM : b\r\nX-From: c\r\n"
	    "from:d\r\n\r\nFrom: e\r\n";

	cr_expect_eq(rfc5322_field_count(h, sizeof(h) - 1, "From"), 3u);
	cr_expect_eq(rfc5322_field_count(h, sizeof(h) - 1, "X-From"), 1u);
	cr_expect_eq(rfc5322_field_count(h, sizeof(h) - 1, "To"), 0u);
	cr_expect_eq(rfc5322_field_count(h, sizeof(h) - 1, "From:"), 0u);
	cr_expect_eq(rfc5322_field_count(h, 0, "From"), 0u);
}

/* A From: field whose value is n octets, folded every 70. */
static char *
make_field(size_t n, bool fold, const char *tail, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	buf_append_str(&b, "To: x\r\nFrom: ");
	for (size_t i = 0; i < n; i++) {
		/* a fold's WSP is part of the value, so it counts */
		if (fold && i > 0 && i % 70 == 0) {
			buf_append_str(&b, "\r\n ");
			continue;
		}
		buf_append_byte(&b, 'v');
	}
	buf_append_str(&b, tail);
	buf_append_str(&b, "\r\nSubject: y\r\n\r\n");
	*len_r = b.len;
	return buf_steal(&b);
}

Test(rfc5322, value_limit)
{
	const char *error;
	struct buf v;
	size_t len;
	char *h;

	buf_init(&v, 0);
	for (int fold = 0; fold < 2; fold++) {
		h = make_field(RFC5322_VALUE_MAX, fold, "", &len);
		cr_expect_eq(rfc5322_field_find(h, len, "From", 0, &v,
		    &error), 1);
		cr_expect_eq(v.len, (size_t)RFC5322_VALUE_MAX);
		free(h);
		/* trailing white space is not part of the value */
		h = make_field(RFC5322_VALUE_MAX, fold, "   \r\n\t ", &len);
		cr_expect_eq(rfc5322_field_find(h, len, "From", 0, &v,
		    &error), 1);
		cr_expect_eq(v.len, (size_t)RFC5322_VALUE_MAX);
		free(h);
		h = make_field(RFC5322_VALUE_MAX + 1, fold, "", &len);
		error = NULL;
		cr_expect_eq(rfc5322_field_find(h, len, "From", 0, &v,
		    &error), -1);
		cr_expect_str_eq(error, E_VALUE_LONG);
		cr_expect_eq(v.len, 0u);
		free(h);
	}
	/* the buffer's own bound counts too */
	buf_release(&v);
	buf_init(&v, 16);
	h = make_field(16, false, "", &len);
	cr_expect_eq(rfc5322_field_find(h, len, "From", 0, &v, &error), 1);
	free(h);
	h = make_field(17, false, "", &len);
	cr_expect_eq(rfc5322_field_find(h, len, "From", 0, &v, &error), -1);
	cr_expect_str_eq(error, E_VALUE_LONG);
	free(h);
	buf_release(&v);
}

/* ------------------------------------------------------------------ */
/* whole header sections, as the policy will call it */

struct header_case {
	const char	*hdr;
	const char	*error;
	const char	*want;
};

static const struct header_case header_cases[] = {
	/* Gmail */
	{ "Return-Path: <jane.roe@gmail.com>\r\n"
	  "Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com "
	  "[209.85.221.41])\r\n\tby mx.example.org with ESMTPS id 4Vt\r\n"
	  "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	  "        d=gmail.com; s=20230601; t=1717401600; x=1718006400;\r\n"
	  "        h=to:subject:message-id:date:from:mime-version:from:to\r\n"
	  "         :subject:date:message-id:reply-to;\r\n"
	  "MIME-Version: 1.0\r\n"
	  "From: Jane Roe <jane.roe@gmail.com>\r\n"
	  "Date: Mon, 3 Jun 2024 10:00:00 +0200\r\n"
	  "Message-ID: <CAJ+abc123@mail.gmail.com>\r\n"
	  "Subject: Hello\r\n"
	  "To: bob@example.org\r\n"
	  "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
	  "\r\n"
	  "From: not@a-header.example\r\n", NULL, "jane.roe@gmail.com" },
	/* Outlook */
	{ "From: \"Roe, Jane\" <Jane.Roe@contoso.com>\r\n"
	  "To: \"Smith, Bob\" <bob.smith@fabrikam.com>\r\n"
	  "Subject: RE: Q3 numbers\r\n"
	  "Thread-Topic: Q3 numbers\r\n"
	  "Thread-Index: AdqXyZ1234==\r\n"
	  "Date: Mon, 3 Jun 2024 08:00:00 +0000\r\n"
	  "Message-ID: <DM6PR01MB1234@DM6PR01MB1234.prod.outlook.com>\r\n"
	  "X-MS-Has-Attach:\r\n"
	  "Content-Language: en-US\r\n\r\n", NULL, "Jane.Roe@contoso.com" },
	/* a mailing list that rewrites From: for DMARC */
	{ "From: \"Jane Roe via Users\" <users@lists.example.org>\r\n"
	  "Reply-To: Jane Roe <jane@example.com>\r\n"
	  "X-Original-From: Jane Roe <jane@example.com>\r\n"
	  "List-Id: Users <users.lists.example.org>\r\n\r\n", NULL,
	  "users@lists.example.org" },
	/* Thunderbird, folded encoded word, bare LF line ends */
	{ "Message-ID: <1@example.de>\n"
	  "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=\n <juergen@example.de>\n"
	  "To: x@example.org\n\n", NULL, "juergen@example.de" },
	/* RFC 6532 UTF-8 header */
	{ "From: J\xc3\xbcrgen <j\xc3\xbcrgen@m\xc3\xbcller.example>\r\n"
	  "\r\n", NULL, "j\xc3\xbcrgen@m\xc3\xbcller.example" },
	{ "From: a@x.example, b@y.example\r\nSender: a@x.example\r\n\r\n",
	  NULL, "a@x.example b@y.example" },
	{ "To: x@example.org\r\n\r\n", E_FIELD_MISSING, NULL },
	{ "To: x@example.org\r\n\r\nFrom: a@x.example\r\n", E_FIELD_MISSING,
	  NULL },
	{ "From: a@x.example\r\nFrom: ceo@bank.example\r\n\r\n",
	  E_FIELD_REPEATED, NULL },
	{ "From: a@x.example\r\nFROM : ceo@bank.example\r\n\r\n",
	  E_FIELD_REPEATED, NULL },
	{ "From: a@x.example\rFrom: ceo@bank.example\r\n\r\n",
	  E_FIELD_REPEATED, NULL },
	{ "From:\r\n\r\n", E_EMPTY, NULL },
	{ "From: \"ceo@bank.example\" <attacker@evil.example>\r\n\r\n",
	  NULL, "attacker@evil.example" },
	{ "From: ceo@bank.example\r\n <attacker@evil.example>\r\n\r\n",
	  E_BEFORE_ANGLE, NULL },
};

Test(rfc5322, header_table)
{
	struct addr *out = addrs_new(LIST_MAX);
	char one[ADDR_TEXT_MAX + 1];
	struct buf text;

	buf_init(&text, 0);
	for (size_t i = 0; i < ARRAY_SIZE(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		size_t len = strlen(c->hdr), n = 99;
		char *copy = heap_copy(c->hdr, len);
		const char *error = NULL;
		int rc;

		rc = rfc5322_header_mailboxes(copy, len, "From", out,
		    LIST_MAX, &n, &error);
		free(copy);
		if (c->error != NULL) {
			cr_expect_eq(rc, -1, "case %zu parsed", i);
			if (rc == -1)
				cr_expect_str_eq(error, c->error, "case %zu",
				    i);
			cr_expect_eq(n, 0u);
			continue;
		}
		cr_expect_eq(rc, 0, "case %zu: %s", i, rc ? error : "");
		buf_reset(&text);
		for (size_t j = 0; rc == 0 && j < n; j++) {
			addr_format(&out[j], one, sizeof(one));
			buf_printf(&text, "%s%s", j > 0 ? " " : "", one);
		}
		if (rc == 0)
			cr_expect_str_eq(buf_cstr(&text), c->want, "case %zu",
			    i);
	}
	buf_release(&text);
	free(out);
}

Test(rfc5322, header_bad_name)
{
	struct addr out[1];
	const char *error = NULL;
	size_t n = 99;

	cr_expect_eq(rfc5322_header_mailboxes("From: a@b.example\r\n", 19,
	    "From:", out, 1, &n, &error), -1);
	cr_expect_str_eq(error, E_NAME);
	cr_expect_eq(n, 0u);
}
