/*
 * base64: RFC 4648 section 4 base64 (the "+/" alphabet, "=" padding), as
 * used by SMTP AUTH and IMAP AUTHENTICATE.
 *
 * Contract: encoding always pads. Decoding is strict and pure: it accepts
 * exactly the strings base64_encode() produces and nothing else, so two
 * different texts never decode to the same bytes. Rejected with an error
 * string: characters outside the alphabet (whitespace and NUL included),
 * a length that is not a multiple of 4 (missing padding), "=" anywhere but
 * the last one or two places, data after padding, and non-zero unused bits
 * in the last symbol (non-canonical encodings). Decoding never writes past
 * outsz bytes, and writes nothing at all when it fails; the output is
 * binary and not NUL-terminated. The empty string is valid and decodes to
 * nothing (SASL uses it for an empty response; "=" alone is invalid).
 */
#ifndef SLUICE_BASE64_H
#define SLUICE_BASE64_H

#include <stddef.h>

/* base64_encoded_len: characters for n bytes, NUL not counted; aborts if
 * the result would not fit a size_t. */
size_t	 base64_encoded_len(size_t n);
/* base64_encode: out must hold base64_encoded_len(len) + 1 bytes; it is
 * NUL-terminated. */
void	 base64_encode(const void *in, size_t len, char *out);

/* base64_decoded_max: bytes the decoding of len characters can need. */
size_t	 base64_decoded_max(size_t len);
/* The value of one symbol, or -1 for anything outside the alphabet. */
int	 base64_value(unsigned char c);
/* base64_decode: 0 and the byte count in *outlen_r, or -1 and *error_r.
 * outsz need only hold the exact result, which may be up to 2 bytes less
 * than base64_decoded_max(len) when the input is padded. */
int	 base64_decode(const char *in, size_t len, void *out, size_t outsz,
	    size_t *outlen_r, const char **error_r);

#endif
