/* Unit tests for src/lib/addr.c: paths, mailboxes, limits, relay tricks. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "util.h"

#define N	ADDR_ALLOW_NULL
#define U	ADDR_ALLOW_UTF8
#define B	ADDR_ALLOW_NO_BRACKETS
#define P	ADDR_ALLOW_POSTMASTER

/* Expected error texts, as addr.c spells them. */
#define E_EMPTY		"empty address"
#define E_NO_OPEN	"path must be enclosed in <>"
#define E_NO_CLOSE	"missing closing >"
#define E_NULL		"null path not allowed"
#define E_JUNK		"unexpected text after address"
#define E_CTL		"control character in address"
#define E_8BIT		"8-bit character without SMTPUTF8"
#define E_UTF8		"invalid UTF-8"
#define E_PATH_LEN	"path longer than 256 octets"
#define E_MAILBOX_LEN	"address longer than 254 octets"
#define E_LOCAL_LEN	"local part longer than 64 octets"
#define E_LOCAL_EMPTY	"empty local part"
#define E_LOCAL_CHAR	"invalid character in local part"
#define E_LOCAL_DOT	"misplaced dot in local part"
#define E_QUOTE		"unterminated quoted string"
#define E_QPAIR		"invalid backslash escape"
#define E_NO_DOMAIN	"missing @domain"
#define E_MULTI_AT	"more than one @ in address"
#define E_DOMAIN_EMPTY	"empty domain"
#define E_DOMAIN_LEN	"domain longer than 255 octets"
#define E_DOMAIN_CHAR	"invalid character in domain"
#define E_NUMERIC	"domain ends in a numeric label"
#define E_LABEL_EMPTY	"empty label in domain"
#define E_LABEL_LEN	"domain label longer than 63 octets"
#define E_HYPHEN	"domain label starts or ends with hyphen"
#define E_LITERAL	"unterminated address literal"
#define E_LITERAL_TAG	"unsupported address literal"
#define E_IPV4		"invalid IPv4 address literal"
#define E_IPV6		"invalid IPv6 address literal"
#define E_ROUTE		"invalid source route"

#define F_QN	(ADDR_F_QUOTED | ADDR_F_NEEDS_QUOTES)

struct addr_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in); set it for NULs */
	unsigned	 opts;
	const char	*error;		/* NULL: must parse */
	const char	*local;
	const char	*domain;
	unsigned	 flags;		/* exactly these */
};

#define OK(in, opts, local, domain, flags) \
	{ in, 0, opts, NULL, local, domain, flags }
#define ERR(in, opts, error) \
	{ in, 0, opts, error, NULL, NULL, 0 }
#define ERRN(in, opts, error) \
	{ in, sizeof(in) - 1, opts, error, NULL, NULL, 0 }

static const struct addr_case path_cases[] = {
	/* plain */
	OK("<user@example.com>", 0, "user", "example.com", 0),
	OK("<User.Name+tag@Example.COM>", 0, "User.Name+tag", "example.com", 0),
	OK("<user@localhost>", 0, "user", "localhost", 0),
	OK("<user@xn--bcher-kva.example>", 0, "user", "xn--bcher-kva.example", 0),
	OK("<u@123.example>", 0, "u", "123.example", 0),
	OK("<a!#$%&'*+-/=?^_`{|}~@x.example>", 0,
	    "a!#$%&'*+-/=?^_`{|}~", "x.example",
	    ADDR_F_PERCENT | ADDR_F_BANG),
	/* case folding and the trailing dot */
	OK("<USER@LOCAL.EXAMPLE.>", 0, "USER", "local.example",
	    ADDR_F_TRAILING_DOT),
	ERR("<user@example.com..>", 0, E_LABEL_EMPTY),
	ERR("<user@.>", 0, E_DOMAIN_EMPTY),
	/* null path */
	OK("<>", N, "", "", ADDR_F_NULL),
	ERR("<>", 0, E_NULL),
	ERR("<>", U | B | P, E_NULL),
	/* relay tricks */
	OK("<user%remote@local.example>", 0, "user%remote", "local.example",
	    ADDR_F_PERCENT),
	OK("<remote!user@local.example>", 0, "remote!user", "local.example",
	    ADDR_F_BANG),
	OK("<@local.example:user@remote.example>", 0, "user",
	    "remote.example", ADDR_F_SOURCE_ROUTE),
	OK("<@a.example,@b.example.:user@c.example>", 0, "user", "c.example",
	    ADDR_F_SOURCE_ROUTE),
	OK("<\"user@remote\"@local.example>", 0, "\"user@remote\"",
	    "local.example", F_QN | ADDR_F_QUOTED_AT),
	OK("<\"user%remote\"@local.example>", 0, "user%remote",
	    "local.example", ADDR_F_QUOTED | ADDR_F_PERCENT),
	OK("<\"a\\@b\"@local.example>", 0, "\"a@b\"", "local.example",
	    F_QN | ADDR_F_QUOTED_AT),
	ERR("<user@remote@local.example>", 0, E_MULTI_AT),
	ERR("<user@@local.example>", 0, E_MULTI_AT),
	ERR("<@local.example>", 0, E_ROUTE),
	ERR("<@>", 0, E_ROUTE),
	ERR("<@a.example user@b.example>", 0, E_ROUTE),
	ERR("<@a.example,user@b.example>", 0, E_ROUTE),
	ERR("<@[192.0.2.1]:user@b.example>", 0, E_ROUTE),
	ERR("<@a_b.example:user@b.example>", 0, E_ROUTE),
	ERR("<@a.example:>", 0, E_LOCAL_EMPTY),
	ERR("<@a.example:", 0, E_NO_CLOSE),
	/* address literals */
	OK("<user@[192.0.2.1]>", 0, "user", "[192.0.2.1]",
	    ADDR_F_IP_LITERAL),
	OK("<user@[010.000.0.255]>", 0, "user", "[10.0.0.255]",
	    ADDR_F_IP_LITERAL),
	OK("<user@[IPv6:2001:DB8:0:0:0:0:0:1]>", 0, "user",
	    "[IPv6:2001:db8::1]", ADDR_F_IP_LITERAL),
	OK("<user@[ipv6:2001:db8::1]>", 0, "user", "[IPv6:2001:db8::1]",
	    ADDR_F_IP_LITERAL),
	OK("<user@[IPv6:::ffff:192.0.2.1]>", 0, "user",
	    "[IPv6:::ffff:192.0.2.1]", ADDR_F_IP_LITERAL),
	ERR("<user@[256.1.1.1]>", 0, E_IPV4),
	ERR("<user@[1.2.3]>", 0, E_IPV4),
	ERR("<user@[1.2.3.4.5]>", 0, E_IPV4),
	ERR("<user@[1.2.3.0004]>", 0, E_IPV4),
	ERR("<user@[1.2.3.-4]>", 0, E_IPV4),
	ERR("<user@[]>", 0, E_IPV4),
	ERR("<user@[IPv6:]>", 0, E_IPV6),
	ERR("<user@[IPv6:2001:db8::g]>", 0, E_IPV6),
	ERR("<user@[IPv6:1.2.3.4]>", 0, E_IPV6),
	ERR("<user@[IPv6:2001:db8::1%eth0]>", 0, E_IPV6),
	ERR("<user@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, E_IPV6),
	ERR("<user@[x400:c=gb]>", 0, E_LITERAL_TAG),
	ERR("<user@[192.0.2.1>", 0, E_LITERAL),
	ERR("<user@[192.0.2.1].>", 0, E_DOMAIN_CHAR),
	ERR("<user@[192.0.2.1]x>", 0, E_DOMAIN_CHAR),
	ERR("<user@192.0.2.1>", 0, E_NUMERIC),
	ERR("<user@example.123>", 0, E_NUMERIC),
	/* quoting: unnecessary quotes go, necessary ones stay canonical */
	OK("<\"john\"@example.com>", 0, "john", "example.com",
	    ADDR_F_QUOTED),
	OK("<\"jo\\hn\"@example.com>", 0, "john", "example.com",
	    ADDR_F_QUOTED),
	OK("<\"john doe\"@example.com>", 0, "\"john doe\"", "example.com",
	    F_QN),
	OK("<\"a\\\"b\\\\c\"@example.com>", 0, "\"a\\\"b\\\\c\"",
	    "example.com", F_QN),
	OK("<\"john..doe\"@example.com>", 0, "\"john..doe\"", "example.com",
	    F_QN),
	OK("<\".john\"@example.com>", 0, "\".john\"", "example.com", F_QN),
	OK("<\"a\\ b\"@example.com>", 0, "\"a b\"", "example.com", F_QN),
	ERR("<\"\"@example.com>", 0, E_LOCAL_EMPTY),
	ERR("<\"user@example.com>", 0, E_QUOTE),
	ERR("<\"\\\"@example.com>", 0, E_QUOTE),
	ERR("<\"user\\", 0, E_QUOTE),
	ERR("<user\"@example.com>", 0, E_LOCAL_CHAR),
	ERR("<\"user\"x@example.com>", 0, E_LOCAL_CHAR),
	ERR("<\"us\\\ter\"@example.com>", 0, E_QPAIR),
	ERR("<\"us\\\xc3\xb6\"@example.com>", U, E_QPAIR),
	/* local part syntax */
	ERR("<.user@example.com>", 0, E_LOCAL_DOT),
	ERR("<user.@example.com>", 0, E_LOCAL_DOT),
	ERR("<us..er@example.com>", 0, E_LOCAL_DOT),
	ERR("<a(b)@example.com>", 0, E_LOCAL_CHAR),
	ERR("<a,b@example.com>", 0, E_LOCAL_CHAR),
	ERR("<a\\b@example.com>", 0, E_LOCAL_CHAR),
	ERR("< user@example.com>", 0, E_LOCAL_CHAR),
	ERR("<user>", 0, E_NO_DOMAIN),
	ERR("<user >", 0, E_NO_DOMAIN),
	/* domain syntax */
	ERR("<user@>", 0, E_DOMAIN_EMPTY),
	ERR("<user@.example>", 0, E_LABEL_EMPTY),
	ERR("<user@example..com>", 0, E_LABEL_EMPTY),
	ERR("<user@-example.com>", 0, E_HYPHEN),
	ERR("<user@example-.com>", 0, E_HYPHEN),
	ERR("<user@ex_ample.com>", 0, E_DOMAIN_CHAR),
	ERR("<user@exa(mple).com>", 0, E_DOMAIN_CHAR),
	ERR("<user@example.com >", 0, E_JUNK),
	/* brackets and what follows them */
	ERR("", 0, E_EMPTY),
	ERR("<", 0, E_NO_CLOSE),
	ERR("<user", 0, E_NO_CLOSE),
	ERR("<user@example.com", 0, E_NO_CLOSE),
	ERR("user@example.com>", 0, E_NO_OPEN),
	ERR("user@example.com", 0, E_NO_OPEN),
	OK("user@example.com", B, "user", "example.com", ADDR_F_NO_BRACKETS),
	OK("<user@example.com>", B, "user", "example.com", 0),
	ERR("user@example.com>", B, E_JUNK),
	ERR("user@example.com ", B, E_JUNK),
	ERR("user", B, E_NO_DOMAIN),
	ERR("<user@example.com>x", 0, E_JUNK),
	ERR("<user@example.com> ", 0, E_JUNK),
	ERR("<user@example.com>>", 0, E_JUNK),
	ERR("<<user@example.com>>", 0, E_LOCAL_CHAR),
	/* control characters and NUL bytes */
	ERR("<us\ter@example.com>", 0, E_CTL),
	ERR("<user@exa\tmple.com>", 0, E_CTL),
	ERR("<user@example.com\r>", 0, E_CTL),
	ERR("<\"us\ter\"@example.com>", 0, E_CTL),
	ERR("<\"us\x7f\"@example.com>", 0, E_CTL),
	ERR("<us\x7f@example.com>", 0, E_CTL),
	ERR("<user@example.com\x7f>", 0, E_CTL),
	ERRN("<us\0er@example.com>", 0, E_CTL),
	ERRN("<user@exa\0mple.com>", 0, E_CTL),
	ERRN("<\"us\0er\"@example.com>", 0, E_CTL),
	ERRN("<user@example.com>\0", 0, E_JUNK),
	ERRN("\0<user@example.com>", B, E_CTL),
	/* 8-bit and UTF-8 */
	ERR("<j\xc3\xb6rg@example.com>", 0, E_8BIT),
	OK("<j\xc3\xb6rg@example.com>", U, "j\xc3\xb6rg", "example.com",
	    ADDR_F_UTF8_LOCAL),
	OK("<\"j\xc3\xb6rg\"@example.com>", U, "j\xc3\xb6rg", "example.com",
	    ADDR_F_QUOTED | ADDR_F_UTF8_LOCAL),
	ERR("<\"j\xc3\xb6rg\"@example.com>", 0, E_8BIT),
	OK("<\xf0\x9f\x93\xa7@\xe4\xbe\x8b.example>", U, "\xf0\x9f\x93\xa7",
	    "\xe4\xbe\x8b.example", ADDR_F_UTF8),
	OK("<user@B\xc3\xbc" "CHER.Example>", U, "user",
	    "b\xc3\xbc" "cher.example", ADDR_F_UTF8_DOMAIN),
	ERR("<user@b\xc3\xbc" "cher.example>", 0, E_8BIT),
	ERR("<j\xc3rg@example.com>", U, E_UTF8),
	ERR("<\xc0\xafuser@example.com>", U, E_UTF8),
	ERR("<\xed\xa0\x80@example.com>", U, E_UTF8),
	ERR("<\xf4\x90\x80\x80@example.com>", U, E_UTF8),
	ERR("<\xf8\x88\x80\x80\x80@example.com>", U, E_UTF8),
	ERR("<\x80user@example.com>", U, E_UTF8),
	ERR("<\xff@example.com>", U, E_UTF8),
	ERR("<user@example.com\xe2\x82>", U, E_UTF8),
	ERR("<user\xe2\x82", U, E_UTF8),
	ERR("<user@example.com\xe2\x82", U, E_NO_CLOSE),
	ERR("<user@ex\xe2\x82.com>", U, E_UTF8),
	ERR("<u\xc2\x85@example.com>", U, E_CTL),
	ERR("<user@[192.0.2.\xc2\xb9]>", U, E_IPV4),
	/* the bare postmaster */
	OK("<Postmaster>", P, "postmaster", "", ADDR_F_POSTMASTER_BARE),
	OK("<POSTMASTER>", P | N, "postmaster", "", ADDR_F_POSTMASTER_BARE),
	OK("postmaster", P | B, "postmaster", "",
	    ADDR_F_POSTMASTER_BARE | ADDR_F_NO_BRACKETS),
	OK("<PostMaster@Example.com>", P, "PostMaster", "example.com", 0),
	ERR("<Postmaster>", 0, E_NO_DOMAIN),
	ERR("<postmasterx>", P, E_NO_DOMAIN),
	ERR("<\"postmaster\">", P, E_NO_DOMAIN),
	ERR("<@a.example:postmaster>", P, E_NO_DOMAIN),
};

static const struct addr_case mailbox_cases[] = {
	OK("user@example.com", 0, "user", "example.com", 0),
	OK("\"john\"@EXAMPLE.com.", 0, "john", "example.com",
	    ADDR_F_QUOTED | ADDR_F_TRAILING_DOT),
	OK("user%remote@local.example", 0, "user%remote", "local.example",
	    ADDR_F_PERCENT),
	OK("user@[IPv6:2001:db8::1]", 0, "user", "[IPv6:2001:db8::1]",
	    ADDR_F_IP_LITERAL),
	OK("Postmaster", P, "postmaster", "", ADDR_F_POSTMASTER_BARE),
	OK("j\xc3\xb6rg@example.com", U, "j\xc3\xb6rg", "example.com",
	    ADDR_F_UTF8_LOCAL),
	ERR("j\xc3\xb6rg@example.com", 0, E_8BIT),
	ERR("Postmaster", 0, E_NO_DOMAIN),
	ERR("", 0, E_EMPTY),
	ERR("", N, E_EMPTY),
	ERR("@example.com", 0, E_LOCAL_EMPTY),
	ERR("user@", 0, E_DOMAIN_EMPTY),
	ERR("user", 0, E_NO_DOMAIN),
	ERR("user@remote@local", 0, E_MULTI_AT),
	ERR("<user@example.com>", 0, E_LOCAL_CHAR),
	ERR("<user@example.com>", B, E_LOCAL_CHAR),
	ERR("user@example.com>", 0, E_JUNK),
	ERR("user@example.com ", 0, E_JUNK),
	ERR("user@example.com SIZE=1", 0, E_JUNK),
	ERRN("user@example.com\0", 0, E_CTL),
	ERR("user@example.com\n", 0, E_CTL),
	ERR("\"user", 0, E_QUOTE),
};

/* Parse from an exact-size heap copy, so ASan sees any read past len. */
static int
parse_copy(bool path, const char *in, size_t len, unsigned opts,
    struct addr *a, size_t *consumed_r, const char **error_r)
{
	char *copy = xmalloc(len);
	int rc;

	memcpy(copy, in, len);
	if (path)
		rc = addr_parse_path(copy, len, opts, a, consumed_r, error_r);
	else
		rc = addr_parse_mailbox(copy, len, opts, a, error_r);
	free(copy);
	return rc;
}

static size_t
case_len(const struct addr_case *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

static void
check_case(bool path, size_t i, const struct addr_case *c)
{
	const char *error = "unset";
	struct addr a;
	int rc;

	rc = parse_copy(path, c->in, case_len(c), c->opts, &a, NULL, &error);
	if (c->error != NULL) {
		cr_expect_eq(rc, -1, "case %zu <%s>: parsed, expected \"%s\"",
		    i, c->in, c->error);
		if (rc == -1)
			cr_expect_str_eq(error, c->error, "case %zu <%s>", i,
			    c->in);
		cr_expect_eq(a.flags, 0u, "case %zu: struct not cleared", i);
		cr_expect_eq(a.local_len, 0u, "case %zu: struct not cleared", i);
		return;
	}
	cr_expect_eq(rc, 0, "case %zu <%s>: %s", i, c->in,
	    rc == 0 ? "" : error);
	if (rc != 0)
		return;
	cr_expect_str_eq(a.local, c->local, "case %zu <%s> local", i, c->in);
	cr_expect_str_eq(a.domain, c->domain, "case %zu <%s> domain", i, c->in);
	cr_expect_eq(a.local_len, strlen(c->local), "case %zu local_len", i);
	cr_expect_eq(a.domain_len, strlen(c->domain), "case %zu domain_len",
	    i);
	cr_expect_eq(a.flags, c->flags, "case %zu <%s>: flags %#x, want %#x",
	    i, c->in, a.flags, c->flags);
}

Test(addr, path_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(path_cases); i++)
		check_case(true, i, &path_cases[i]);
}

Test(addr, mailbox_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(mailbox_cases); i++)
		check_case(false, i, &mailbox_cases[i]);
}

/*
 * The parser is not incremental, so "byte by byte" here means: every
 * prefix of a bracketed path is incomplete and must be refused, and no
 * prefix makes the parser read past what it was given.
 */
Test(addr, path_prefixes_fail)
{
	for (size_t i = 0; i < ARRAY_SIZE(path_cases); i++) {
		const struct addr_case *c = &path_cases[i];
		size_t len = case_len(c);

		for (size_t n = 0; n < len; n++) {
			const char *error = NULL;
			struct addr a;
			int rc;

			rc = parse_copy(true, c->in, n, c->opts, &a, NULL,
			    &error);
			if (c->error == NULL && c->in[0] == '<')
				cr_expect_eq(rc, -1, "case %zu <%s>: prefix "
				    "%zu parsed", i, c->in, n);
			if (rc == -1)
				cr_expect_not_null(error);
		}
	}
}

/* Each accepted address survives format -> parse_mailbox unchanged. */
Test(addr, format_round_trip)
{
	for (size_t i = 0; i < ARRAY_SIZE(path_cases); i++) {
		const struct addr_case *c = &path_cases[i];
		char text[ADDR_TEXT_MAX + 1];
		const char *error = NULL;
		struct addr a, b;
		size_t n;

		if (c->error != NULL || (c->flags & ADDR_F_NULL) != 0)
			continue;
		cr_assert_eq(addr_parse_path(c->in, case_len(c), c->opts, &a,
		    NULL, &error), 0);
		n = addr_format(&a, text, sizeof(text));
		cr_expect_eq(n, strlen(text));
		cr_expect_eq(addr_parse_mailbox(text, n, U | P, &b, &error), 0,
		    "case %zu: <%s> -> <%s>: %s", i, c->in, text, error);
		cr_expect(addr_equal(&a, &b), "case %zu: <%s> != <%s>", i,
		    c->in, text);
		cr_expect_eq((b.flags & ADDR_F_QUOTED) != 0,
		    (a.flags & ADDR_F_NEEDS_QUOTES) != 0, "case %zu", i);
	}
}

Test(addr, format)
{
	char text[ADDR_TEXT_MAX + 1], small[5];
	const char *error;
	struct addr a;

	cr_assert_eq(addr_parse_path("<\"John\"@EXAMPLE.com.>", 21, 0, &a,
	    NULL, &error), 0);
	cr_expect_eq(addr_format(&a, text, sizeof(text)), 16);
	cr_expect_str_eq(text, "John@example.com");
	/* like snprintf: truncated, terminated, full length returned */
	cr_expect_eq(addr_format(&a, small, sizeof(small)), 16);
	cr_expect_str_eq(small, "John");
	small[0] = 'x';
	cr_expect_eq(addr_format(&a, small, 0), 16);
	cr_expect_eq(small[0], 'x');
	cr_expect_eq(addr_format(&a, small, 1), 16);
	cr_expect_str_eq(small, "");

	cr_assert_eq(addr_parse_path("<>", 2, N, &a, NULL, &error), 0);
	cr_expect_eq(addr_format(&a, text, sizeof(text)), 0);
	cr_expect_str_eq(text, "");

	cr_assert_eq(addr_parse_path("<postMASTER>", 12, P, &a, NULL,
	    &error), 0);
	cr_expect_eq(addr_format(&a, text, sizeof(text)), 10);
	cr_expect_str_eq(text, "postmaster");
}

Test(addr, equal)
{
	struct addr a, b;
	const char *error;

	cr_assert_eq(addr_parse_mailbox("\"john\"@EXAMPLE.COM.", 19, 0, &a,
	    &error), 0);
	cr_assert_eq(addr_parse_mailbox("john@example.com", 16, 0, &b,
	    &error), 0);
	cr_expect(addr_equal(&a, &b));
	cr_assert_eq(addr_parse_mailbox("John@example.com", 16, 0, &b,
	    &error), 0);
	cr_expect_not(addr_equal(&a, &b), "local part case matters");
	cr_assert_eq(addr_parse_mailbox("postmaster", 10, P, &a, &error), 0);
	cr_assert_eq(addr_parse_path("<>", 2, N, &b, NULL, &error), 0);
	cr_expect_not(addr_equal(&a, &b));
}

Test(addr, ip_literal_bytes)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	const char *error;
	struct addr a;

	cr_assert_eq(addr_parse_path("<u@[192.0.2.1]>", 15, 0, &a, NULL,
	    &error), 0);
	cr_expect_eq(a.ip_version, 4);
	cr_expect_arr_eq(a.ip, v4, 4);
	cr_assert_eq(addr_parse_path("<u@[IPv6:2001:db8::1]>", 22, 0, &a,
	    NULL, &error), 0);
	cr_expect_eq(a.ip_version, 6);
	cr_expect_arr_eq(a.ip, v6, 16);
	cr_assert_eq(addr_parse_path("<u@example.com>", 15, 0, &a, NULL,
	    &error), 0);
	cr_expect_eq(a.ip_version, 0);
}

struct consumed_case {
	const char	*in;
	unsigned	 opts;
	size_t		 consumed;	/* 0: must fail */
};

Test(addr, consumed_before_parameters)
{
	static const struct consumed_case cases[] = {
		{ "<a@b.example> SIZE=100", 0, 13 },
		{ "<a@b.example>", 0, 13 },
		{ "<> BODY=8BITMIME", N, 2 },
		{ "a@b.example SIZE=1", B, 11 },
		{ "\"a b\"@b.example SIZE=1", B, 15 },
		{ "postmaster NOTIFY=NEVER", B | P, 10 },
		{ "<Postmaster> NOTIFY=NEVER", P, 12 },
		{ "<a@b.example>SIZE=1", 0, 0 },
		{ "<a@b.example>\tSIZE=1", 0, 0 },
		{ "a@b.example\tSIZE=1", B, 0 },
		{ "<a@b.example SIZE=1", 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *in = cases[i].in, *error = NULL;
		size_t consumed = 999;
		struct addr a;
		int rc;

		rc = parse_copy(true, in, strlen(in), cases[i].opts, &a,
		    &consumed, &error);
		if (cases[i].consumed == 0) {
			cr_expect_eq(rc, -1, "case %zu <%s>", i, in);
			cr_expect_eq(consumed, 999u, "case %zu", i);
			continue;
		}
		cr_expect_eq(rc, 0, "case %zu <%s>: %s", i, in, error);
		cr_expect_eq(consumed, cases[i].consumed, "case %zu <%s>", i,
		    in);
	}
}

/* A domain of n octets: labels of 60 letters, no trailing dot. */
static char *
make_domain(size_t n)
{
	char *d = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		d[i] = i % 61 == 60 ? '.' : 'a' + (char)(i % 26);
	if (n > 0 && d[n - 1] == '.')
		d[n - 1] = 'z';
	d[n] = '\0';
	return d;
}

static char *
make_run(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Parse a formatted path or mailbox; error is NULL on success. */
static const char *
try_parse(bool path, unsigned opts, struct addr *a, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

static const char *
try_parse(bool path, unsigned opts, struct addr *a, const char *fmt, ...)
{
	const char *error = NULL;
	va_list ap;
	char *s;
	int len, rc;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	cr_assert_geq(len, 0);
	s = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	va_end(ap);
	rc = parse_copy(path, s, (size_t)len, opts, a, NULL, &error);
	free(s);
	return rc == 0 ? NULL : error;
}

Test(addr, local_part_limit)
{
	char *l64 = make_run('a', 64), *l65 = make_run('a', 65);
	char *q62 = make_run('a', 62), *q63 = make_run('a', 63);
	char *esc31 = xmalloc(63), *sp = make_run(' ', 62);
	struct addr a;

	for (size_t i = 0; i < 62; i += 2)
		memcpy(esc31 + i, "\\\"", 2);
	esc31[62] = '\0';

	cr_expect_null(try_parse(true, 0, &a, "<%s@x.example>", l64));
	cr_expect_eq(a.local_len, 64);
	cr_expect_str_eq(try_parse(true, 0, &a, "<%s@x.example>", l65),
	    E_LOCAL_LEN);
	/* quotes count: 62 letters + 2 quotes = 64, unquoted to 62 */
	cr_expect_null(try_parse(true, 0, &a, "<\"%s\"@x.example>", q62));
	cr_expect_eq(a.local_len, 62);
	cr_expect_str_eq(try_parse(true, 0, &a, "<\"%s\"@x.example>", q63),
	    E_LOCAL_LEN);
	/* a quoted string that stays quoted, at exactly 64 */
	cr_expect_null(try_parse(true, 0, &a, "<\"%s\"@x.example>", sp));
	cr_expect_eq(a.local_len, 64);
	cr_expect_eq(a.flags, F_QN);
	cr_expect_null(try_parse(true, 0, &a, "<\"%s\"@x.example>", esc31));
	cr_expect_eq(a.local_len, 64);
	cr_expect_eq(memcmp(a.local + 1, esc31, 62), 0);
	cr_expect_str_eq(try_parse(true, 0, &a, "<\"%s \"@x.example>", sp),
	    E_LOCAL_LEN);
	/* the same in a bare mailbox */
	cr_expect_null(try_parse(false, 0, &a, "%s@x.example", l64));
	cr_expect_str_eq(try_parse(false, 0, &a, "%s@x.example", l65),
	    E_LOCAL_LEN);
	free(l64);
	free(l65);
	free(q62);
	free(q63);
	free(esc31);
	free(sp);
}

Test(addr, label_limit)
{
	char *l63 = make_run('b', 63), *l64 = make_run('b', 64);
	struct addr a;

	cr_expect_null(try_parse(true, 0, &a, "<u@%s.example>", l63));
	cr_expect_str_eq(try_parse(true, 0, &a, "<u@%s.example>", l64),
	    E_LABEL_LEN);
	cr_expect(addr_domain_is_valid(l63, 63));
	cr_expect_not(addr_domain_is_valid(l64, 64));
	free(l63);
	free(l64);
}

Test(addr, domain_limit)
{
	char *d255 = make_domain(255), *d256 = make_domain(256);
	char *d255dot = xasprintf("%s.", d255);
	struct addr a;

	cr_assert_eq(strlen(d255), 255);
	cr_expect(addr_domain_is_valid(d255, 255));
	cr_expect_not(addr_domain_is_valid(d256, 256));
	cr_expect_not(addr_domain_is_valid(d255dot, 256));
	/* the domain check fires first; then the overall limits */
	cr_expect_str_eq(try_parse(false, 0, &a, "u@%s", d256), E_DOMAIN_LEN);
	cr_expect_str_eq(try_parse(false, 0, &a, "u@%s", d255),
	    E_MAILBOX_LEN);
	cr_expect_str_eq(try_parse(false, 0, &a, "u@%s", d255dot),
	    E_MAILBOX_LEN);
	cr_expect_str_eq(try_parse(true, 0, &a, "<u@%s>", d256), E_DOMAIN_LEN);
	cr_expect_str_eq(try_parse(true, 0, &a, "<u@%s>", d255), E_PATH_LEN);
	free(d255);
	free(d256);
	free(d255dot);
}

Test(addr, path_and_mailbox_limit)
{
	char *l64 = make_run('a', 64);
	char *d189 = make_domain(189), *d190 = make_domain(190);
	char *d250 = make_domain(250);
	struct addr a;

	/* "<" 64 "@" 189 ">" = 256 */
	cr_expect_null(try_parse(true, 0, &a, "<%s@%s>", l64, d189));
	cr_expect_str_eq(try_parse(true, 0, &a, "<%s@%s>", l64, d190),
	    E_PATH_LEN);
	/* without brackets the path counts as if it had them */
	cr_expect_null(try_parse(true, B, &a, "%s@%s", l64, d189));
	cr_expect_str_eq(try_parse(true, B, &a, "%s@%s", l64, d190),
	    E_PATH_LEN);
	/* a source route counts towards the path */
	cr_expect_str_eq(try_parse(true, 0, &a, "<@%s:u@x.example>", d250),
	    E_PATH_LEN);
	cr_expect_null(try_parse(true, 0, &a, "<@%s:u@x.example>", d189));
	cr_expect_eq(a.flags, ADDR_F_SOURCE_ROUTE);
	/* mailbox: 64 "@" 189 = 254 */
	cr_expect_null(try_parse(false, 0, &a, "%s@%s", l64, d189));
	cr_expect_str_eq(try_parse(false, 0, &a, "%s@%s", l64, d190),
	    E_MAILBOX_LEN);
	free(l64);
	free(d189);
	free(d190);
	free(d250);
}

struct domain_case {
	const char	*in;
	size_t		 len;
	bool		 valid;
};

Test(addr, domain_is_valid)
{
	static const struct domain_case cases[] = {
		{ "example.com", 0, true },
		{ "EXAMPLE.Com", 0, true },
		{ "a", 0, true },
		{ "123.example", 0, true },
		{ "xn--bcher-kva.example", 0, true },
		{ "a-b.c-d", 0, true },
		{ "", 0, false },
		{ "example.com.", 0, false },
		{ ".example.com", 0, false },
		{ "a..com", 0, false },
		{ "-a.com", 0, false },
		{ "a-.com", 0, false },
		{ "a_b.com", 0, false },
		{ "123", 0, false },
		{ "example.123", 0, false },
		{ "exa mple.com", 0, false },
		{ "b\xc3\xbc.example", 0, false },
		{ "[192.0.2.1]", 0, false },
		{ "a\0b", 3, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		cr_expect_eq(addr_domain_is_valid(cases[i].in, len),
		    cases[i].valid, "case %zu <%s>", i, cases[i].in);
	}
	/* the length is honoured, not the NUL */
	cr_expect(addr_domain_is_valid("example.com.evil", 11));
}
