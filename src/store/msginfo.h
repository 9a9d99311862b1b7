/*
 * msginfo: everything IMAP needs to know about a message, computed once at
 * delivery (or APPEND) from its bytes, so that no FETCH, SEARCH or SORT
 * ever parses the message again.
 *
 * Contract: pure. Bytes and a length in (CRLF or bare LF line ends), a
 * struct msginfo out; no I/O, no reliance on NUL termination. Broken mail
 * never fails (mime.h's rules): every input, the empty one included,
 * yields a complete msginfo.
 *
 *  - envelope, body, bodystructure: the IMAP4rev1 (RFC 3501 7.4.2) texts
 *    of FETCH ENVELOPE, BODY and BODYSTRUCTURE, ready to be written after
 *    the item name. Strings are quoted when they can be (no CR, LF, NUL,
 *    8-bit bytes; at most 1024 octets), else literals {n}CRLF...; header
 *    values are sent as they are in the message (encoded words are not
 *    decoded: RFC 3501), unfolded. Addresses in the envelope follow RFC
 *    3501 (groups as a (NIL NIL "group" NIL) ... (NIL NIL NIL NIL) pair,
 *    source route NIL; display names and local parts unquoted, comments
 *    dropped; an address without a domain gets host "MISSING_DOMAIN",
 *    as NIL would read as a group, like Dovecot; at most
 *    MSGINFO_ADDR_MAX addresses per field; Sender and Reply-To default
 *    to From). A multipart without children is written as an empty
 *    text/plain part, so the text is always valid IMAP. text/... parts
 *    without a charset parameter get ("charset" "us-ascii") (RFC 2045
 *    5.2); an RFC 2231 value mime.h kept undecoded is sent as "name*"
 *    with its charset'lang'%xx value. A message/rfc822 (or message/global)
 *    part without a parsed child (encoded, or past mime.h's limits) gets
 *    an all-NIL envelope and an empty text/plain body. Literals never
 *    hold NUL (dropped: RFC 3501 CHAR8).
 *  - parts: one entry per IMAP section in depth-first order, the root
 *    first, with its section number and the offsets mime.h gives:
 *    "" is the whole message (hdr: its header, body: its body). A
 *    non-multipart message (the root or an encapsulated one) also has
 *    part "1" (prefix.1) with the same header and body (RFC 3501 6.4.5:
 *    every message has a part 1). Parts of a multipart are "1", "2",
 *    nested "2.1"; a multipart without children gets an empty text/plain
 *    part 1 of length 0 at its body's start. A message/rfc822 part N has
 *    one entry N (hdr: its MIME header, body: the whole encapsulated
 *    message, is_message set, msg_hdr: the encapsulated header, so
 *    N.HEADER is msg_hdr and N.TEXT runs from its end to the body's
 *    end); the encapsulated message's parts are N.1, N.2 ... (or N.1
 *    alone for a non-multipart one). The root entry has is_message set
 *    and msg_hdr equal to hdr.
 *  - Search fields: header values decoded to UTF-8 (RFC 2047 encoded
 *    words decoded, charsets converted with iconv, unknown charsets and
 *    invalid bytes replaced with U+FFFD), unfolded; NULL when absent.
 *    sort_subject is RFC 5256 base subject (Re:, Fwd:, [blob] and
 *    "(fwd)" removed, white space collapsed) of the decoded subject.
 *    date is the Date: header as Unix seconds (RFC 5322 with the obsolete
 *    forms), 0 when absent or unparsable. from_addr/to_addr: the first
 *    address of From:/To:, mailbox@host lower-cased (for SORT).
 *  - headers_text: every header field of the top-level message as
 *    "Name: decoded value\n" lines (for SEARCH HEADER / TEXT).
 *    body_text: the text of the message for SEARCH BODY: every text/...
 *    part that is not an attachment (and text/... attachments too), its
 *    transfer encoding undone (base64, quoted-printable), its charset
 *    converted to UTF-8, text/html reduced to text (tags dropped, script
 *    and style elements dropped, entities decoded, block elements make
 *    line breaks), parts joined with "\n". Capped at MSGINFO_TEXT_MAX
 *    octets (cut at a UTF-8 character boundary); text inside
 *    message/rfc822 parts is included.
 *  - Every string is NUL-terminated and owned by the msginfo.
 *
 * The text functions below append valid UTF-8 without NUL bytes; when out
 * has a maximum that the text would pass, they append what fits (cut at
 * a character boundary) and return -1.
 */
#ifndef SLUICE_MSGINFO_H
#define SLUICE_MSGINFO_H

#include <stddef.h>
#include <stdint.h>

#include "mime.h"

/* Most octets of body_text and of headers_text kept for the index. */
#define MSGINFO_TEXT_MAX	(1024 * 1024)
/* Most addresses (group markers included) read from one header field. */
#define MSGINFO_ADDR_MAX	1000

struct msginfo_part {
	char		*section;	/* "" root, "1", "1.2", ... */
	char		*type;		/* lower-case, e.g. "text" */
	char		*subtype;	/* lower-case, e.g. "plain" */
	size_t		 hdr_off, hdr_len;	/* the part's MIME header */
	size_t		 body_off, body_len;	/* its content */
	/* 1 for the root and message/rfc822 or message/global parts with
	 * an encapsulated message: msg_hdr is that message's header
	 * (N.HEADER; N.TEXT runs from its end to body_off + body_len). */
	int		 is_message;
	size_t		 msg_hdr_off, msg_hdr_len;	/* 0/0 otherwise */
};

struct msginfo {
	char		*envelope;	/* "(\"date\" \"subject\" ...)" */
	char		*body;		/* BODY (non-extensible form) */
	char		*bodystructure;	/* BODYSTRUCTURE (extensible) */

	struct msginfo_part *parts;
	size_t		 nparts;

	/* Decoded (UTF-8) header values for SEARCH and SORT; NULL: absent. */
	char		*subject;
	char		*sort_subject;	/* RFC 5256 base subject, never NULL */
	char		*from;
	char		*to;
	char		*cc;
	char		*bcc;
	char		*message_id;	/* raw, e.g. "<abc@example.org>" */
	char		*in_reply_to;
	char		*references;
	int64_t		 date;		/* Date: as Unix seconds, 0: none */
	char		*from_addr;	/* first From: address, lower-case,
					   "" when none */
	char		*to_addr;	/* first To: address, "" when none */

	char		*headers_text;	/* "Name: value\n" lines, decoded */
	char		*body_text;	/* text parts, decoded, for FTS */
	int		 has_attachment;	/* 1: a part with disposition
						   attachment or a file name */
};

/*
 * Compute msg's msginfo into *info (which is zeroed first). Returns 0, or
 * -1 with *error_r only when msg is NULL with len > 0 (*info then zero).
 */
int	 msginfo_build(const char *msg, size_t len, struct msginfo *info,
	    const char **error_r);
/* Free what msginfo_build() allocated; zeroes *info (NULL is fine). */
void	 msginfo_clear(struct msginfo *info);

/*
 * RFC 2047: decode the encoded words of a header value (len octets) into
 * UTF-8, appended to out. Text between adjacent encoded words that is only
 * white space is dropped (RFC 2047 6.2). Charsets go through iconv;
 * unknown charsets and invalid bytes become U+FFFD; raw 8-bit text that is
 * valid UTF-8 is kept, other 8-bit bytes become U+FFFD. Adjacent encoded
 * words in one charset are joined before conversion (a character may be
 * split between them). Malformed encoded words are kept as text. Returns
 * 0, or -1 when out's maximum was reached.
 */
struct buf;
int	 msginfo_decode_header(const char *value, size_t len, struct buf *out);

/*
 * Convert len octets in charset to UTF-8, appended to out (invalid input:
 * U+FFFD per bad byte; unknown charsets: ASCII kept, U+FFFD per 8-bit
 * byte). NULL, empty, "us-ascii" and "utf-8" labels are read as UTF-8;
 * Latin-1, GB2312, EUC-KR and Shift_JIS labels as their Windows
 * supersets (WHATWG). Returns 0, or -1 when out's maximum was reached.
 */
int	 msginfo_to_utf8(const char *charset, const char *in, size_t len,
	    struct buf *out);

/*
 * Reduce len octets of HTML (already UTF-8) to text appended to out: tags
 * and comments dropped, script and style elements dropped with their
 * content, character references decoded, white space collapsed, block
 * elements and <br> ending lines. Returns 0, or -1 when out's maximum was
 * reached.
 */
int	 msginfo_html_to_text(const char *html, size_t len, struct buf *out);

#endif
