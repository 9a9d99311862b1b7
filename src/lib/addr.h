/*
 * addr: parse and normalise mail addresses: SMTP paths (RFC 5321 4.1.2,
 * the argument of MAIL FROM and RCPT TO) and bare mailboxes (local@domain,
 * for sluicectl and for RFC 5322 addr-specs once a header parser has
 * removed comments and folding).
 *
 * Contract: pure. Bytes and a length in, a filled struct addr or a short
 * error string out; no I/O, no allocation, no reliance on NUL termination
 * (a NUL byte in the input is an error like any control character). The
 * error strings are constants fit to put in an SMTP reply text.
 *
 * The parser does not decide policy; it records what a relay check needs
 * in addr.flags (routing syntax in the local part, a source route, an
 * address literal, a stripped trailing dot, SMTPUTF8 text) and leaves the
 * verdict to the caller. Things it refuses outright are things that have
 * no single safe reading: more than one unquoted "@", malformed UTF-8,
 * control characters, quoted text that never closes.
 *
 * Normal form (what addr.local and addr.domain hold):
 *  - local part: its case is kept (RFC 5321 2.4). It is written as a
 *    dot-atom when the decoded text is one, so "john"@x and john@x and
 *    "jo\hn"@x are the same address; otherwise it is a quoted string that
 *    escapes exactly '"' and '\'. It is never empty: a gateway has no use
 *    for ""@domain and RFC 5321 4.1.2 warns against it.
 *  - domain: ASCII letters folded to lower case, one trailing dot removed
 *    (ADDR_F_TRAILING_DOT). Non-ASCII (U-label) bytes are kept as written;
 *    IDNA mapping is not this module's business.
 *  - address literal: "[192.0.2.1]" (decimal, leading zeros dropped) or
 *    "[IPv6:2001:db8::1]" (inet_ntop() form, lower case, tag spelled
 *    "IPv6"); the binary address is in addr.ip. An IPv4-mapped IPv6
 *    literal stays IPv6: relay checks must look at it with
 *    IN6_IS_ADDR_V4MAPPED(). Tags other than IPv6 are refused.
 *
 * Domain rules (also addr_domain_is_valid()): labels of 1..63 octets of
 * letters, digits and '-', not starting or ending with '-'; at most 255
 * octets in all (RFC 5321 4.5.3.1.2). Underscore is refused: mail domains
 * name hosts, and RFC 5321's sub-domain grammar has none. A last label of
 * digits only is refused (no such TLD exists, RFC 3696 2), so
 * user@192.0.2.1 cannot be mistaken for an address literal by a later hop.
 * With ADDR_ALLOW_UTF8 a label may also hold well-formed UTF-8.
 *
 * Limits, on the text as written: local part 64 octets (quotes and
 * backslashes counted), domain 255 (after the trailing dot is dropped),
 * path 256 including "<", ">" and any source route (RFC 5321 4.5.3.1); a
 * path without brackets counts as if it had them. A bare mailbox is at
 * most 254 octets, so that every mailbox fits in a path.
 *
 * Source routes (<@a.example,@b.example:user@c.example>) are accepted,
 * checked for syntax and discarded, as RFC 5321 4.1.1.3 and appendix C
 * require; ADDR_F_SOURCE_ROUTE records that there was one.
 *
 * The bare postmaster (RFC 5321 4.5.1: "<Postmaster>" in RCPT TO, any
 * case) is accepted only with ADDR_ALLOW_POSTMASTER; it yields local
 * "postmaster" (folded, since the name is case-insensitive), an empty
 * domain and ADDR_F_POSTMASTER_BARE. The caller supplies its own domain.
 *
 * SMTPUTF8: the MAIL FROM path comes before the SMTPUTF8 parameter that
 * permits it, so parse MAIL FROM with ADDR_ALLOW_UTF8 and then refuse the
 * command if (flags & ADDR_F_UTF8) and the parameter is absent. Invalid
 * UTF-8 (overlong forms, surrogates, values past U+10FFFF, truncated
 * sequences) and C1 controls are refused even with the option.
 *
 * Not accepted: RFC 5322 comments, folding white space, obsolete local
 * parts, and domain literals other than IPv4 and IPv6. Leading white space
 * ("MAIL FROM: <a@b>") is the caller's to skip, if it wants to.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_LABEL_MAX		63	/* RFC 1035 2.3.4 */
#define ADDR_PATH_MAX		256	/* RFC 5321 4.5.3.1.3 */
#define ADDR_MAILBOX_MAX	(ADDR_PATH_MAX - 2)
/* Room for addr_format() output, without the NUL. */
#define ADDR_TEXT_MAX		(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

/* Options: what the caller permits in this context. */
#define ADDR_ALLOW_NULL		0x01u	/* "<>": MAIL FROM, never RCPT TO */
#define ADDR_ALLOW_UTF8		0x02u	/* RFC 6531 text in local part/domain */
#define ADDR_ALLOW_NO_BRACKETS	0x04u	/* "MAIL FROM:user@x", no <> */
#define ADDR_ALLOW_POSTMASTER	0x08u	/* "<Postmaster>" without domain */

/* Flags: facts about the address as written. */
#define ADDR_F_NULL		0x0001u	/* "<>", local and domain empty */
#define ADDR_F_POSTMASTER_BARE	0x0002u	/* "<postmaster>", domain empty */
#define ADDR_F_SOURCE_ROUTE	0x0004u	/* "<@a,@b:u@c>", route discarded */
#define ADDR_F_PERCENT		0x0008u	/* '%' in the decoded local part */
#define ADDR_F_BANG		0x0010u	/* '!' in the decoded local part */
#define ADDR_F_QUOTED_AT	0x0020u	/* '@' in the decoded local part */
#define ADDR_F_QUOTED		0x0040u	/* local part written quoted */
#define ADDR_F_NEEDS_QUOTES	0x0080u	/* normal form is a quoted string */
#define ADDR_F_IP_LITERAL	0x0100u	/* domain is [IPv4] or [IPv6:...] */
#define ADDR_F_TRAILING_DOT	0x0200u	/* "user@example.com." */
#define ADDR_F_UTF8_LOCAL	0x0400u	/* non-ASCII in the local part */
#define ADDR_F_UTF8_DOMAIN	0x0800u	/* non-ASCII in the domain */
#define ADDR_F_NO_BRACKETS	0x1000u	/* path written without <> */

#define ADDR_F_UTF8		(ADDR_F_UTF8_LOCAL | ADDR_F_UTF8_DOMAIN)
/* Syntax that some mailer, somewhere, reads as "forward this onward". */
#define ADDR_F_ROUTING		(ADDR_F_SOURCE_ROUTE | ADDR_F_PERCENT | \
				 ADDR_F_BANG | ADDR_F_QUOTED_AT)

struct addr {
	char	 local[ADDR_LOCAL_MAX + 1];	/* normal form, NUL-ended */
	size_t	 local_len;
	char	 domain[ADDR_DOMAIN_MAX + 1];	/* normal form, NUL-ended */
	size_t	 domain_len;
	unsigned flags;				/* ADDR_F_* */
	uint8_t	 ip_version;			/* 0, 4 or 6 */
	uint8_t	 ip[16];			/* network order, 4 or 16 used */
};

/*
 * addr_parse_path: parse an SMTP Reverse-path or Forward-path starting at
 * s[0] ("<" unless ADDR_ALLOW_NO_BRACKETS). The path must be followed by
 * the end of the input or a space (before ESMTP parameters). With
 * consumed_r NULL, it must be followed by the end of the input; otherwise
 * *consumed_r is set to the path's length, so s + *consumed_r is the end
 * or the space. Returns 0, or -1 with *error_r set and *addr_r cleared.
 */
int	 addr_parse_path(const char *s, size_t len, unsigned opts,
	    struct addr *addr_r, size_t *consumed_r, const char **error_r);

/*
 * addr_parse_mailbox: parse exactly one bare mailbox, local@domain, filling
 * the whole input. ADDR_ALLOW_UTF8 and ADDR_ALLOW_POSTMASTER apply; the
 * other options are ignored. Returns 0, or -1 with *error_r set.
 */
int	 addr_parse_mailbox(const char *s, size_t len, unsigned opts,
	    struct addr *addr_r, const char **error_r);

/*
 * addr_format: write the normal form "local@domain" ("" for the null path,
 * "postmaster" for the bare postmaster) like snprintf: at most size - 1
 * bytes and a NUL when size > 0. Returns the full length, which is never
 * more than ADDR_TEXT_MAX, so a char[ADDR_TEXT_MAX + 1] always suffices.
 */
size_t	 addr_format(const struct addr *a, char *dst, size_t size);

/*
 * addr_equal: same normal form. The local part is compared with its case,
 * as RFC 5321 2.4 says; a caller that folds local parts does so itself.
 */
bool	 addr_equal(const struct addr *a, const struct addr *b);

/*
 * addr_domain_is_valid: an ASCII domain name by the rules above, with no
 * trailing dot (strip it first) and in any case. No address literals.
 */
bool	 addr_domain_is_valid(const char *domain, size_t len);

/*
 * user+detail@domain -> user@domain (recipient_delimiter): into out when
 * delim names a character that occurs in the local part after its first
 * character. Returns false (out untouched) when there is no detail.
 */
bool	 addr_strip_detail(const char *delim, const char *address, char *out,
	    size_t size);

#endif
