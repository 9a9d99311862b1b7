/* base64: see base64.h. */
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "util.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	size_t groups = n / 3 + (n % 3 != 0);

	if (groups > (SIZE_MAX - 1) / 4)
		fatal("base64: %zu bytes too large to encode", n);
	return groups * 4;
}

void
base64_encode(const void *in, size_t len, char *out)
{
	const uint8_t *p = in;
	uint32_t v;

	for (; len >= 3; len -= 3, p += 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (len > 0) {
		v = (uint32_t)p[0] << 16 | (len == 2 ? (uint32_t)p[1] << 8 : 0);
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = len == 2 ? b64_alphabet[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

size_t
base64_decoded_max(size_t len)
{
	return len / 4 * 3;
}

int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* in is not NUL-terminated, so no strspn(). */
static int
b64_all_pad(const char *p, size_t n)
{
	while (n > 0 && p[n - 1] == '=')
		n--;
	return n == 0;
}

/* Check everything before writing, so a bad input leaves out untouched. */
static int
b64_check(const char *in, size_t len, size_t *pad_r, const char **error_r)
{
	size_t pad = 0;

	if (len % 4 != 0) {
		*error_r = "length is not a multiple of 4";
		return -1;
	}
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++) {
		if (base64_value((unsigned char)in[i]) != -1)
			continue;
		if (in[i] != '=')
			*error_r = "invalid character";
		else if (b64_all_pad(in + i, len - i))
			*error_r = "too much padding";	/* "x===", "====" */
		else
			*error_r = "data after padding";
		return -1;
	}
	/* Bits the padding drops must be zero, or two texts would decode
	 * to the same bytes. */
	if ((pad == 2 && (base64_value((unsigned char)in[len - 3]) & 0x0f)) ||
	    (pad == 1 && (base64_value((unsigned char)in[len - 2]) & 0x03))) {
		*error_r = "non-zero bits after the last byte";
		return -1;
	}
	*pad_r = pad;
	return 0;
}

int
base64_decode(const char *in, size_t len, void *out, size_t outsz,
    size_t *outlen_r, const char **error_r)
{
	uint8_t *o = out;
	size_t pad, n, i;
	uint32_t v;

	if (b64_check(in, len, &pad, error_r) == -1)
		return -1;
	n = base64_decoded_max(len) - pad;
	if (n > outsz) {
		*error_r = "output buffer too small";
		return -1;
	}
	for (i = 0; i + 4 <= len - pad; i += 4) {
		v = (uint32_t)base64_value((unsigned char)in[i]) << 18 |
		    (uint32_t)base64_value((unsigned char)in[i + 1]) << 12 |
		    (uint32_t)base64_value((unsigned char)in[i + 2]) << 6 |
		    (uint32_t)base64_value((unsigned char)in[i + 3]);
		*o++ = (uint8_t)(v >> 16);
		*o++ = (uint8_t)(v >> 8);
		*o++ = (uint8_t)v;
	}
	if (pad > 0) {
		v = (uint32_t)base64_value((unsigned char)in[i]) << 18 |
		    (uint32_t)base64_value((unsigned char)in[i + 1]) << 12;
		if (pad == 1)
			v |= (uint32_t)base64_value((unsigned char)in[i + 2]) << 6;
		*o++ = (uint8_t)(v >> 16);
		if (pad == 1)
			*o++ = (uint8_t)(v >> 8);
	}
	*outlen_r = n;
	return 0;
}
