/*
 * smtpd/parse: split SMTP command lines and parse the arguments of EHLO,
 * HELO, MAIL, RCPT, BDAT and AUTH, with their ESMTP parameters (SIZE,
 * BODY, SMTPUTF8, DSN's RET/ENVID/NOTIFY/ORCPT, AUTH=).
 *
 * Contract: pure. Bytes and a length in (never relying on a NUL), a filled
 * fixed-size struct or an error out; no I/O, no allocation. On failure the
 * output struct is cleared and *error_r points to a static struct
 * smtp_error holding the whole reply to send: code, RFC 3463 enhanced
 * status and a fixed text that never echoes client data. The session only
 * decides policy (limits, what the state allows, which verbs exist); the
 * syntax and the reply for bad syntax are decided here.
 *
 * Lines: smtp_line_split() takes one command line without its CRLF. The
 * verb is 1..16 ASCII letters starting at the first byte; a SP or TAB run
 * separates it from the arguments (RFC 5321 says one SP; more is
 * tolerated), and trailing SP/TAB are trimmed. NUL, CR, LF, DEL and every
 * other control character but TAB anywhere in the line is an error, which
 * also keeps a bare CR or LF out of the command stream. Octets >= 0x80 are
 * refused in the verb and left to the argument parsers elsewhere. The
 * limit is SMTP_LINE_MAX, except for AUTH, whose line may be up to
 * SMTP_AUTH_LINE_MAX (RFC 4954 4): the line reader should therefore allow
 * SMTP_AUTH_LINE_MAX and leave the 512-octet rule to this function.
 *
 * Parameters (RFC 5321 4.1.2): separated by runs of SP; keywords are
 * esmtp-keyword syntax and matched in any case; a value is esmtp-value
 * (printable ASCII but "=", plus UTF-8 octets, which only ORCPT's utf-8
 * form accepts). A malformed keyword or value, a missing or unwanted value
 * and a repeated parameter get 501 5.5.4; a keyword we do not know gets
 * 555 5.5.4 "Unsupported parameter"; a known one the server did not offer
 * (SMTPUTF8, BODY=BINARYMIME, the DSN ones) gets 555 5.5.4 naming it.
 * Parameters are checked before the address's SMTPUTF8 requirement.
 *
 * Decisions the session relies on:
 *  - "MAIL FROM:" and "RCPT TO:" may be followed by SP/TAB before the path
 *    ("MAIL FROM: <a@b>", a common client bug); other spacing is not
 *    tolerated ("MAIL FROM :<a@b>" is a syntax error).
 *  - Address syntax errors: MAIL 553 5.1.7, RCPT 501 5.1.3. A non-ASCII
 *    address without SMTPUTF8 (on MAIL, or in the transaction for RCPT):
 *    553 5.6.7 (RFC 6531 3.4). RCPT TO:<> is a 501 5.1.3 syntax error.
 *  - SIZE=: 1..20 digits; a value that does not fit uint64_t gets
 *    552 5.3.4 here, any other value is for the session to compare.
 *    BDAT's size follows the same rule; after any BDAT error the session
 *    cannot tell where the chunk ends and should close the connection.
 *  - xtext (ENVID, AUTH=, ORCPT) requires upper-case hex after "+".
 *    Decoded ENVID and AUTH= must be printable ASCII (SP allowed).
 *  - ORCPT: addr-type is folded to lower case. For "utf-8" the address
 *    may use RFC 6533's \x{HEX} escapes (canonical form, "\" or a
 *    non-ASCII, non-control code point), raw UTF-8 (only in an SMTPUTF8
 *    transaction) and "+HH" for printable ASCII; it is stored as UTF-8.
 *    For other types it is xtext decoded to printable ASCII. The address
 *    is not otherwise checked: RFC 3461 makes it informational.
 *  - EHLO/HELO: strict, a domain (one trailing dot allowed) or an address
 *    literal; with SMTP_PARSE_LENIENT any one word of 1..255 printable
 *    ASCII octets (mx listeners meet hosts named "my_pc" or worse).
 *  - AUTH: the mechanism is 1..20 of A-Z a-z 0-9 "-" "_", compare it in
 *    any case (smtp_auth_mech_is()); "=" is an empty initial response;
 *    an initial response that is not base64 gets 501 5.5.2 (RFC 4954 4).
 */
#ifndef SLUICE_SMTPD_PARSE_H
#define SLUICE_SMTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SMTP_LINE_MAX		510	/* 512 with CRLF, RFC 5321 4.5.3.1.4 */
#define SMTP_AUTH_LINE_MAX	12286	/* 12288 with CRLF, RFC 4954 4 */
#define SMTP_VERB_MAX		16
#define SMTP_SIZE_DIGITS_MAX	20	/* RFC 1870 size-value */
#define SMTP_ENVID_MAX		100	/* RFC 3461 4.4, decoded */
#define SMTP_AUTH_PARAM_MAX	(ADDR_TEXT_MAX + 2)	/* "<" mailbox ">" */
#define SMTP_ORCPT_TYPE_MAX	32
#define SMTP_ORCPT_MAX		500	/* RFC 3461 4.2, decoded */
#define SMTP_AUTH_MECH_MAX	20	/* RFC 4954 sasl-mech */

/* Options: what this listener offers and tolerates. */
#define SMTP_PARSE_LENIENT		0x01u	/* paths without <>, any HELO word */
#define SMTP_PARSE_SMTPUTF8_OK		0x02u	/* SMTPUTF8 advertised */
#define SMTP_PARSE_BINARYMIME_OK	0x04u	/* BINARYMIME advertised */
#define SMTP_PARSE_DSN_OK		0x08u	/* DSN advertised */

/* NOTIFY= bits; 0 means the parameter was not given. */
#define SMTP_NOTIFY_NEVER	0x01u
#define SMTP_NOTIFY_SUCCESS	0x02u
#define SMTP_NOTIFY_FAILURE	0x04u
#define SMTP_NOTIFY_DELAY	0x08u
/* Longest smtp_notify_format() text: "SUCCESS,FAILURE,DELAY". */
#define SMTP_NOTIFY_TEXT_MAX	21

struct smtp_error {
	int		 code;		/* 500, 501, 552, 553, 555 */
	const char	*status;	/* "5.5.4" */
	const char	*text;		/* fixed, no client data */
};

struct smtp_line {
	const char	*verb;		/* into the line, not NUL-ended */
	size_t		 verb_len;	/* 1..SMTP_VERB_MAX */
	const char	*args;		/* into the line; trimmed */
	size_t		 args_len;	/* 0: no arguments */
};

enum smtp_body {
	SMTP_BODY_NONE = 0,		/* not given: treat as 7BIT */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

enum smtp_ret {
	SMTP_RET_NONE = 0,
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

struct smtp_mail {
	struct addr	 from;
	bool		 size_given;
	uint64_t	 size;
	enum smtp_body	 body;
	bool		 smtputf8;
	enum smtp_ret	 ret;
	char		 envid[SMTP_ENVID_MAX + 1];	/* decoded, NUL-ended */
	bool		 envid_given;
	char		 auth[SMTP_AUTH_PARAM_MAX + 1];	/* decoded, NUL-ended */
	bool		 auth_given;
};

struct smtp_rcpt {
	struct addr	 to;
	unsigned	 notify;			/* SMTP_NOTIFY_* */
	char		 orcpt_type[SMTP_ORCPT_TYPE_MAX + 1];	/* lower case */
	char		 orcpt[SMTP_ORCPT_MAX + 1];	/* decoded, NUL-ended */
	bool		 orcpt_given;
};

struct smtp_auth_cmd {
	const char	*mech;		/* into args, not NUL-ended */
	size_t		 mech_len;	/* 1..SMTP_AUTH_MECH_MAX */
	const char	*initial;	/* base64 text, not decoded */
	size_t		 initial_len;	/* 0 for "=" */
	bool		 initial_given;	/* false: send 334 and wait */
};

/* Each returns 0, or -1 with *error_r set and the output cleared. */
int	 smtp_line_split(const char *line, size_t len, struct smtp_line *out,
	    const struct smtp_error **error_r);
/* smtp_verb_is: the verb equals verb (ASCII) in any case. */
bool	 smtp_verb_is(const struct smtp_line *l, const char *verb);

/* args: the text after "MAIL" ("FROM:<a@b> SIZE=1"); opts: SMTP_PARSE_*. */
int	 smtp_mail_parse(const char *args, size_t len, unsigned opts,
	    struct smtp_mail *out, const struct smtp_error **error_r);
/* smtputf8_txn: the transaction's MAIL carried SMTPUTF8. */
int	 smtp_rcpt_parse(const char *args, size_t len, unsigned opts,
	    bool smtputf8_txn, struct smtp_rcpt *out,
	    const struct smtp_error **error_r);
int	 smtp_bdat_parse(const char *args, size_t len, uint64_t *size_r,
	    bool *last_r, const struct smtp_error **error_r);
/* EHLO/HELO argument; opts: SMTP_PARSE_LENIENT or 0. */
int	 smtp_helo_parse(const char *args, size_t len, unsigned opts,
	    const struct smtp_error **error_r);
int	 smtp_auth_parse(const char *args, size_t len,
	    struct smtp_auth_cmd *out, const struct smtp_error **error_r);
bool	 smtp_auth_mech_is(const struct smtp_auth_cmd *a, const char *mech);

/*
 * Formatters, like snprintf: at most size - 1 bytes and a NUL when
 * size > 0; the full length is returned so truncation shows.
 * smtp_notify_format: "NEVER" or "SUCCESS,FAILURE,DELAY" in that order;
 * "" for 0. smtp_xtext_encode: RFC 3461 4 xtext, "+HH" for "+", "=" and
 * every octet outside "!".."~"; at most 3 * len.
 */
size_t	 smtp_notify_format(unsigned notify, char *out, size_t size);
size_t	 smtp_xtext_encode(const char *in, size_t len, char *out,
	    size_t size);

/* Names as the queue stores them: BODY 7BIT (also for NONE), RET or NULL. */
const char *smtp_body_name(enum smtp_body body);
const char *smtp_ret_name(enum smtp_ret ret);

#endif
