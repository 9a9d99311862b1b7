/*
 * rfc5322: find a field in a message header section and read the mailboxes
 * in its value (RFC 5322 3.4, 3.6.2), so that the policy can ask whether
 * the From: addresses a recipient will see belong to the authenticated
 * user.
 *
 * Contract: pure. Bytes and a length in, results or a constant error
 * string out (fit for a log line, not echoing the input); no I/O, no
 * reliance on NUL termination. Only rfc5322_field_find() allocates, and
 * only in the struct buf it is given.
 *
 * Header section: the bytes from the start of the message up to the empty
 * line; a scan stops at the first empty line, so passing the whole
 * message (or a prefix that holds the whole header) is fine. A line ends
 * at CRLF, at a bare LF or at a bare CR: the DATA reader either refuses
 * bare line ends or rewrites each as CRLF, so this is how the stored
 * message will read, and a field hidden behind a bare CR is still found.
 * A line starting with a space or tab continues the field before it. A
 * field name is matched whole and without regard to ASCII case, with
 * white space allowed before the colon (obs-optional): "From" matches
 * "from :" but not "From-X", "X-From" or an mbox "From user date" line.
 * Lines that are not fields (no colon) are skipped.
 *
 * Address lists are parsed strictly where leniency would let a sender
 * hide the address that counts:
 *  - a display name is never an address, whatever it looks like
 *    ("ceo@bank.example" <x@evil.example> yields x@evil.example only);
 *  - an addr-spec followed by an angle-addr, two angle-addrs in one
 *    mailbox, text after an angle-addr, unbalanced quotes, comments,
 *    brackets, control characters (NUL included; TAB is white space),
 *    line breaks that are not folds and malformed UTF-8 (which a lax
 *    decoder could read as swallowing a quote or bracket) are errors;
 *  - comments are dropped wherever CFWS may stand, nested and with
 *    quoted-pairs; obsolete CFWS inside an addr-spec (john . doe @ x) is
 *    removed before the addr-spec is parsed;
 *  - groups ("Team: a@x, b@y;") contribute their members; an empty group
 *    contributes nothing; groups do not nest;
 *  - empty list elements (obs-addr-list "a@x, , b@y") are skipped, but a
 *    list that yields no address at all is an error;
 *  - an obsolete route (<@a.example,@b.example:u@c.example>) is accepted
 *    and dropped; the address then carries ADDR_F_SOURCE_ROUTE;
 *  - RFC 2047 encoded words are atoms and are left undecoded: they can
 *    only ever be display text.
 * Each addr-spec is handed to addr_parse_mailbox() (addr_parse_path() when
 * it had a route) with ADDR_ALLOW_UTF8, so its normal form, flags and
 * limits are addr.h's, and its errors are addr.h's texts.
 */
#ifndef SLUICE_RFC5322_H
#define SLUICE_RFC5322_H

#include <stddef.h>

#include "addr.h"
#include "buf.h"

/* Longest unfolded field value rfc5322_field_find() returns. */
#define RFC5322_VALUE_MAX	(8 * 1024)

/*
 * rfc5322_field_count: how many fields of this name the header section
 * holds (0 for a name that is not a valid field name). A message should
 * have exactly one From: (RFC 5322 3.6); two are a way to show a
 * recipient one address while a checker looks at the other.
 */
size_t	 rfc5322_field_count(const char *hdr, size_t len, const char *name);

/*
 * rfc5322_field_find: the value of the nth (0-based) field of this name,
 * unfolded (each line break before a continuation line removed, the
 * white space kept) and without leading and trailing white space, into
 * value_r, which is reset first. The value is raw: NUL and other bytes
 * are kept for the address parser to judge. Returns 1 when found, 0 when
 * there are not that many such fields (value_r empty), -1 with *error_r
 * set when the name is not a valid field name or the value is longer than
 * RFC5322_VALUE_MAX (or value_r's own maximum).
 */
int	 rfc5322_field_find(const char *hdr, size_t len, const char *name,
	    size_t nth, struct buf *value_r, const char **error_r);

/*
 * rfc5322_mailbox_list: parse a field value as an address-list (which
 * includes mailbox-list) into out[0..*n_r). Returns 0, or -1 with *error_r
 * set and *n_r 0 on malformed syntax, an address addr.h refuses, more
 * than max addresses, or a list with no address.
 */
int	 rfc5322_mailbox_list(const char *value, size_t len, struct addr *out,
	    size_t max, size_t *n_r, const char **error_r);

/*
 * rfc5322_header_mailboxes: what the policy's "from owned" needs in one
 * call: the field must occur exactly once (errors for none and for more
 * than one), then its value is parsed as by rfc5322_mailbox_list().
 * Returns 0, or -1 with *error_r set and *n_r 0.
 */
int	 rfc5322_header_mailboxes(const char *hdr, size_t len,
	    const char *name, struct addr *out, size_t max, size_t *n_r,
	    const char **error_r);

#endif
