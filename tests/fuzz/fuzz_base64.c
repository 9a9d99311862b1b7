/* libFuzzer target for base64: decode(encode(x)) == x; decoding arbitrary
 * text never writes past outsz (buffers are allocated to the exact size
 * so ASan sees any overrun); and strictness: whatever decodes re-encodes
 * to the very same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(const uint8_t *data, size_t size)
{
	char *coded = xmalloc(base64_encoded_len(size) + 1);
	uint8_t *back = malloc(size);
	size_t outlen;
	const char *error;

	base64_encode(data, size, coded);
	if (strlen(coded) != base64_encoded_len(size))
		abort();
	if (base64_decode(coded, strlen(coded), back, size, &outlen,
	    &error) != 0 || outlen != size ||
	    (size > 0 && memcmp(back, data, size) != 0))
		abort();
	free(back);
	free(coded);
}

static void
check_decode(const char *text, size_t len, size_t outsz)
{
	uint8_t *out = malloc(outsz);
	size_t outlen;
	const char *error = NULL;
	char *again;

	if (base64_decode(text, len, out, outsz, &outlen, &error) != 0) {
		if (error == NULL)
			abort();
		free(out);
		return;
	}
	if (outlen > outsz || outlen > base64_decoded_max(len))
		abort();
	again = xmalloc(base64_encoded_len(outlen) + 1);
	base64_encode(out, outlen, again);
	if (strlen(again) != len || memcmp(again, text, len) != 0)
		abort();
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_roundtrip(data, size);
	if (size > 0) {
		size_t max = base64_decoded_max(size - 1);

		/* Output room from exact-or-short to generous. */
		check_decode((const char *)data + 1, size - 1,
		    data[0] % 4 == 0 ? max + data[0] :
		    max >= data[0] % 4 ? max - data[0] % 4 : 0);
	}
	return 0;
}
