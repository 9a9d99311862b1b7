/*
 * mime: the MIME structure of a message (RFC 5322, RFC 2045-2049, RFC 2231
 * parameters), computed once at delivery so that the store can keep what
 * IMAP BODYSTRUCTURE, BODY[n.MIME] and partial FETCH need without ever
 * parsing the message again.
 *
 * Contract: pure. Bytes and a length in (CRLF or bare LF line ends; a bare
 * CR is not a line end), a tree out; no I/O, no reliance on NUL
 * termination. Broken mail never fails: every input, the empty one
 * included, yields a tree whose offsets all lie within the message.
 *  - Header section: from the part's start up to and including the first
 *    empty line; without one the whole part is header and the body is
 *    empty at its end. Lines without a colon are not fields and are
 *    skipped; 8-bit bytes are kept as they are.
 *  - Content-Type missing or unparsable: text/plain with a synthesised
 *    charset=us-ascii parameter (RFC 2045 5.2), or message/rfc822 directly
 *    inside multipart/digest (RFC 2046 5.1.5). Type, subtype, parameter
 *    names, encoding and disposition are lower-cased.
 *  - Boundaries (RFC 2046 5.1.1): a delimiter line is "--" boundary, then
 *    an optional "--" (close delimiter), then white space only, at the
 *    start of a line. So a boundary that is a prefix of another does not
 *    match the longer one's lines. The line end before a delimiter belongs
 *    to the delimiter. The parse is top-down: a multipart only looks for
 *    its own boundary within the range its parent gave it, so an inner
 *    part never runs past an outer delimiter.
 *  - A missing close delimiter: the last part runs to the multipart's end.
 *    A multipart without a boundary parameter or without any delimiter
 *    line has no children; an IMAP writer must cope (e.g. by writing an
 *    empty text/plain part).
 *  - message/rfc822 and message/global whose encoding is 7bit, 8bit,
 *    binary or absent have one child: the encapsulated message, whose
 *    header starts at the part's body.
 *  - Limits: at most MIME_PARTS_MAX parts in the whole tree (the root and
 *    encapsulated messages included) and a depth of MIME_DEPTH_MAX (the
 *    root is depth 0). A part that would go past either is an opaque leaf
 *    flagged MIME_PART_F_TRUNCATED; a multipart whose list of children
 *    was cut short is flagged too. This is not an error.
 *  - RFC 2231: continuations (name*0, name*1*, ...) are joined from
 *    section 0 up to the first missing section; an extended value
 *    (charset'lang'%xx) is percent-decoded into value when its charset is
 *    utf-8 or us-ascii (or empty) and the result is valid in it; any other
 *    extended value is kept raw in RFC 2231 form (charset'lang'%xx...,
 *    with non-extended sections percent-encoded into it) and flagged
 *    MIME_PARAM_F_RAW2231. When a name appears both plain and extended,
 *    the extended one wins. The first of repeated parameters wins; at
 *    most MIME_PARAMS_MAX parameter items per header field are read.
 *  - lines: the body's LF count, plus one when a non-empty body does not
 *    end with LF.
 */
#ifndef SLUICE_MIME_H
#define SLUICE_MIME_H

#include <stddef.h>

#include "buf.h"

#define MIME_PARTS_MAX		1000
#define MIME_DEPTH_MAX		20
#define MIME_PARAMS_MAX		64

/* The part would pass a limit; its content is opaque / children cut. */
#define MIME_PART_F_TRUNCATED	0x01
/* Content-Type was missing or unparsable; the type is the default. */
#define MIME_PART_F_DEFAULT_TYPE 0x02
/* A multipart that ended without its close delimiter. */
#define MIME_PART_F_NO_CLOSE	0x04

/* value is in RFC 2231 extended form, not decoded (charset not UTF-8). */
#define MIME_PARAM_F_RAW2231	0x01

struct mime_param {
	char		*name;		/* lower-case, without any '*' */
	char		*value;		/* UTF-8 or raw bytes, NUL-terminated */
	unsigned int	 flags;		/* MIME_PARAM_F_* */
};

struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;	/* first child */
	struct mime_part *next;		/* next sibling */
	size_t		 child_count;

	unsigned int	 depth;		/* root: 0 */
	unsigned int	 flags;		/* MIME_PART_F_* */

	/* Offsets into the message; header includes its empty line. */
	size_t		 hdr_off, hdr_len;
	size_t		 body_off, body_len;
	size_t		 lines;

	char		*type, *subtype;
	struct mime_param *params;
	size_t		 param_count;
	char		*encoding;	/* default "7bit" */
	char		*id;		/* Content-ID value or NULL */
	char		*description;	/* raw Content-Description or NULL */
	char		*disposition;	/* token or NULL */
	struct mime_param *disp_params;
	size_t		 disp_param_count;
};

/*
 * mime_parse: parse msg into a new tree in *root_r. Returns 0; -1 with
 * *error_r set only when msg is NULL with len > 0 (*root_r NULL then).
 */
int	 mime_parse(const char *msg, size_t len, struct mime_part **root_r,
	    const char **error_r);
/* mime_free: free a tree from mime_parse() and set *root to NULL. */
void	 mime_free(struct mime_part **root);

/* Number of parts in the tree (never more than MIME_PARTS_MAX). */
size_t	 mime_part_count(const struct mime_part *root);

/* Content-Type / Content-Disposition parameter by name, or NULL. */
const struct mime_param *mime_part_param(const struct mime_part *part,
	    const char *name);
const struct mime_param *mime_part_disp_param(const struct mime_part *part,
	    const char *name);

/*
 * mime_header_get: the first field of this name (ASCII case-insensitive,
 * white space allowed before the colon) in the part's header, unfolded
 * (line breaks before continuation lines removed) and trimmed, into
 * value_r, which is reset first. Returns 1 when found, 0 when not, -1
 * when the value would pass value_r's maximum (value_r then empty).
 */
int	 mime_header_get(const struct mime_part *part, const char *msg,
	    const char *name, struct buf *value_r);

#endif
