/* Tests for base64: RFC 4648 vectors, every error class, exact output
 * bounds. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "util.h"

#define IN(s)	(s), (sizeof(s) - 1)

static const struct {
	const char	*plain;
	const char	*coded;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(base64, rfc4648_encode)
{
	char out[16];

	for (size_t i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		size_t n = strlen(rfc4648[i].plain);

		memset(out, 'X', sizeof(out));
		cr_assert_eq(base64_encoded_len(n), strlen(rfc4648[i].coded));
		base64_encode(rfc4648[i].plain, n, out);
		cr_expect_str_eq(out, rfc4648[i].coded);
		/* Nothing written past the NUL. */
		cr_expect_eq(out[base64_encoded_len(n) + 1], 'X');
	}
}

Test(base64, rfc4648_decode)
{
	char out[16];
	size_t outlen;
	const char *error = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		const char *c = rfc4648[i].coded;

		cr_assert_eq(base64_decode(c, strlen(c), out, sizeof(out),
		    &outlen, &error), 0, "%s: %s", c, error);
		cr_expect_eq(outlen, strlen(rfc4648[i].plain));
		cr_expect(memcmp(out, rfc4648[i].plain, outlen) == 0);
	}
}

static const struct {
	const char	*in;
	size_t		 len;
	const char	*error;
} bad[] = {
	{ IN("="), "length is not a multiple of 4" },
	{ IN("Zg"), "length is not a multiple of 4" },
	{ IN("Zg="), "length is not a multiple of 4" },
	{ IN("Zm9vYg"), "length is not a multiple of 4" },
	{ IN("Zm9vY"), "length is not a multiple of 4" },
	{ IN("Zm9v YmFy"), "length is not a multiple of 4" },
	{ IN("Zm9vYmFy\r\n"), "length is not a multiple of 4" },
	{ IN("Zm9 "), "invalid character" },
	{ IN(" Zm9"), "invalid character" },
	{ IN("Zm\r\n"), "invalid character" },
	{ IN("Zm9\t"), "invalid character" },
	{ IN("Zm\0v"), "invalid character" },
	{ IN("Zm9*"), "invalid character" },
	{ IN("Zm9-"), "invalid character" },	/* base64url is not base64 */
	{ IN("Zm9_"), "invalid character" },
	{ IN("\xffm9v"), "invalid character" },
	{ IN("Zg=\n"), "data after padding" },
	{ IN("===="), "too much padding" },
	{ IN("Z==="), "too much padding" },
	{ IN("Zm9vZ==="), "too much padding" },
	{ IN("Zg==Zg=="), "data after padding" },
	{ IN("Zg==Zm9v"), "data after padding" },
	{ IN("Zg=a"), "data after padding" },
	{ IN("Zm=v"), "data after padding" },
	{ IN("=Zm9"), "data after padding" },
	{ IN("Zm8=Zm8="), "data after padding" },
	{ IN("Zh=="), "non-zero bits after the last byte" },
	{ IN("Zv=="), "non-zero bits after the last byte" },
	{ IN("Zm9="), "non-zero bits after the last byte" },
	{ IN("Zm9vYmF="), "non-zero bits after the last byte" },
};

Test(base64, decode_errors)
{
	unsigned char out[16];
	size_t outlen = 42;
	const char *error;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(out, 0xaa, sizeof(out));
		error = NULL;
		cr_expect_eq(base64_decode(bad[i].in, bad[i].len, out,
		    sizeof(out), &outlen, &error), -1, "case %zu", i);
		cr_expect_str_eq(error != NULL ? error : "(null)", bad[i].error,
		    "case %zu", i);
		cr_expect_eq(outlen, 42);
		for (size_t j = 0; j < sizeof(out); j++)
			cr_assert_eq(out[j], 0xaa, "case %zu wrote", i);
	}
}

Test(base64, empty_is_valid)
{
	size_t outlen = 42;
	const char *error = NULL;

	cr_assert_eq(base64_decode("", 0, NULL, 0, &outlen, &error), 0);
	cr_assert_eq(outlen, 0);
	cr_assert_null(error);
}

Test(base64, output_exact_and_one_short)
{
	/* Padded inputs need less than base64_decoded_max(). */
	static const struct {
		const char *in;
		size_t need;
	} t[] = {
		{ "Zm9vYmFy", 6 }, { "Zm9vYmE=", 5 }, { "Zm9vYg==", 4 },
		{ "Zg==", 1 },
	};
	unsigned char out[8];
	size_t outlen;
	const char *error;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t len = strlen(t[i].in);

		cr_assert_eq(base64_decode(t[i].in, len, out, t[i].need,
		    &outlen, &error), 0);
		cr_assert_eq(outlen, t[i].need);
		memset(out, 0xaa, sizeof(out));
		cr_assert_eq(base64_decode(t[i].in, len, out, t[i].need - 1,
		    &outlen, &error), -1);
		cr_assert_str_eq(error, "output buffer too small");
		cr_assert_eq(out[0], 0xaa, "wrote despite failing");
	}
}

Test(base64, sizes)
{
	static const size_t enc[][2] = {
		{ 0, 0 }, { 1, 4 }, { 2, 4 }, { 3, 4 }, { 4, 8 }, { 5, 8 },
		{ 6, 8 }, { 7, 12 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(enc); i++)
		cr_expect_eq(base64_encoded_len(enc[i][0]), enc[i][1]);
	cr_expect_eq(base64_decoded_max(0), 0);
	cr_expect_eq(base64_decoded_max(4), 3);
	cr_expect_eq(base64_decoded_max(7), 3);
	cr_expect_eq(base64_decoded_max(8), 6);
}

Test(base64, encoded_len_overflow, .exit_code = EXIT_FAILURE,
    .init = cr_redirect_stderr)
{
	base64_encoded_len(SIZE_MAX);
}

Test(base64, alphabet_exactly_64)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char in[4] = { 0, 'A', 'A', 'A' };
	unsigned char out[3];
	size_t outlen, valid = 0;
	const char *error;

	for (int c = 0; c < 256; c++) {
		in[0] = (char)c;
		if (base64_decode(in, 4, out, sizeof(out), &outlen,
		    &error) == 0) {
			const char *p = memchr(alphabet, c, 64);

			valid++;
			cr_assert_not_null(p, "accepted %#x", c);
			/* The first symbol is the top 6 bits. */
			cr_assert_eq(out[0] >> 2, p - alphabet);
		}
	}
	cr_assert_eq(valid, 64);
}

Test(base64, roundtrip_every_length)
{
	unsigned char plain[256], back[256];
	char coded[345];
	size_t outlen;
	const char *error;

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= sizeof(plain); n++) {
		base64_encode(plain, n, coded);
		cr_assert_eq(strlen(coded), base64_encoded_len(n));
		cr_assert_eq(base64_decode(coded, strlen(coded), back, n,
		    &outlen, &error), 0, "n=%zu: %s", n, error);
		cr_assert_eq(outlen, n);
		cr_assert(memcmp(plain, back, n) == 0);
	}
}
