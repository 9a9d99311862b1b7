/*
 * msgtext: the text helpers behind msginfo.h, internal to src/store: UTF-8
 * repair, charset conversion through iconv, RFC 2047 encoded words,
 * transfer decoding of part bodies and HTML reduced to text (the last
 * three are msginfo.h's msginfo_decode_header(), msginfo_to_utf8() and
 * msginfo_html_to_text()).
 *
 * Contract: pure and thread safe: nothing is cached, an iconv handle is
 * opened and closed within each call. Text appended by these functions is
 * valid UTF-8 without NUL bytes. An append that would pass out->max adds
 * what fits, cut at a UTF-8 character boundary, and returns -1.
 */
#ifndef SLUICE_MSGTEXT_H
#define SLUICE_MSGTEXT_H

#include <stddef.h>

#include "buf.h"

/* Longest charset name looked up; longer ones are unknown. */
#define MSGTEXT_CHARSET_MAX	64

/*
 * Append n octets that should be UTF-8: valid sequences are kept, each
 * other byte (and NUL) becomes U+FFFD. Returns 0, or -1 when cut short.
 */
int	 msgtext_utf8_append(struct buf *out, const char *s, size_t n);

/* Append n octets of valid UTF-8, cut at a character boundary when they
 * do not all fit under out->max (then -1). */
int	 msgtext_append_capped(struct buf *out, const char *s, size_t n);

/* Like msginfo_to_utf8(), with a charset name that is not NUL-terminated. */
int	 msgtext_convert(const char *cs, size_t cslen, const char *in,
	    size_t len, struct buf *out);

/*
 * Undo a Content-Transfer-Encoding (lower-case name): base64 and
 * quoted-printable are decoded leniently (stray characters skipped, bad
 * escapes kept as they are); anything else is copied. Binary output,
 * appended to out; stops silently at out->max.
 */
void	 msgtext_transfer_decode(const char *encoding, const char *in,
	    size_t len, struct buf *out);

#endif
