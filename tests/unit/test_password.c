/* Unit tests for password: schemes, known hashes, locks, limits, rehash. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "password.h"
#include "util.h"

#define PW "correct horse battery staple"

/*
 * Reference hashes. The $6$, $5$ and $1$ ones for PW were checked against
 * OpenSSL's independent implementation (openssl passwd -6/-5/-1 -salt);
 * the "Hello world!" and "U*U" ones are the published test vectors of
 * the SHA-crypt specification and of OpenBSD bcrypt. The rest were made
 * once with crypt_r() and a fixed salt.
 */
struct known {
	const char *password;
	const char *hash;
};

static const struct known known_hashes[] = {
	{ PW, "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"
	    "y8e1eitiNDaQsFFW6d.9KbSTlk5zV3R3coZQtfcNAO5" },
	{ PW, "$y$jC5$F5Jx5fExrKuPp53xLKQ..1$"
	    "z5CtHV4JusAkUdFWWt/T7M.SxRUDGky5vobElRm8wi1" },
	{ PW, "$2b$05$CCCCCCCCCCCCCCCCCCCCC.poIKaw08HWUz4zkVKLs8VPIydUmXBPC" },
	{ PW, "$2y$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS" },
	{ PW, "$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/"
	    "yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8." },
	{ PW, "$6$rounds=10000$saltstringsaltst$vYfRg0cvt6jqN.cdxF22BORftyt"
	    "x0YPFkovksVubXuGbzxqnymO6iA22anPhq1CcF20s8mxa6wCNxLd21.zwA." },
	{ PW, "$5$saltstring$hixOXgchwauyzVtlSM/e7UnQx0qiTk74JE/YU53IbE0" },
	{ PW, "$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0" },
	{ "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	    "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1" },
	{ "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/"
	    "GNooZaBBGWEc5" },
	{ "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" },
	/* Dovecot scheme prefixes, any case. */
	{ PW, "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"
	    "y8e1eitiNDaQsFFW6d.9KbSTlk5zV3R3coZQtfcNAO5" },
	{ PW, "{SHA512-CRYPT}$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ."
	    "X1SaheFedsK/yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8." },
	{ PW, "{SHA256-CRYPT}$5$saltstring$"
	    "hixOXgchwauyzVtlSM/e7UnQx0qiTk74JE/YU53IbE0" },
	{ PW, "{blf-crypt}$2y$05$abcdefghijklmnopqrstuu"
	    "FiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS" },
	{ PW, "{MD5-CRYPT}$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0" },
};

Test(password, known_hashes_verify)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_hashes); i++) {
		const struct known *k = &known_hashes[i];
		char *wrong = xstrdup(k->password);

		cr_assert_eq(password_verify(k->password, k->hash), 1,
		    "case %zu", i);
		/* One bit off, one byte short, one byte more. */
		wrong[0] ^= 0x20;
		cr_assert_eq(password_verify(wrong, k->hash), 0, "case %zu", i);
		free(wrong);
		wrong = xstrndup(k->password, strlen(k->password) - 1);
		cr_assert_eq(password_verify(wrong, k->hash), 0, "case %zu", i);
		free(wrong);
		wrong = xasprintf("%s!", k->password);
		cr_assert_eq(password_verify(wrong, k->hash), 0, "case %zu", i);
		free(wrong);
	}
}

static const char *const unusable_hashes[] = {
	"",
	"!",
	"*",
	"!!",
	"*LK*",
	"!$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/"
	    "yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8.",
	"*$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/"
	    "yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8.",
	"{PLAIN}" PW,
	"{SSHA}abcdef",
	"{CRYPT}",
	"{CRYPT}!$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0",
	"{",
	"$9$abc",
	"$y$",
	"$2b$99$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS",
	"$5$rounds=10$saltstring$hixOXgchwauyzVtlSM/e7UnQx0qiTk74JE/YU53I",
	"x",
};

Test(password, locked_and_invalid_hashes_unusable)
{
	for (size_t i = 0; i < ARRAY_SIZE(unusable_hashes); i++)
		cr_assert_eq(password_verify(PW, unusable_hashes[i]), -1,
		    "case %zu: %s", i, unusable_hashes[i]);
	cr_assert_eq(password_verify(PW, NULL), -1);
}

static const char *const garbage_hashes[] = {
	/* The plain password stored as if it were a hash. */
	PW,
	"co",
	/* Truncated, extended and altered real hashes. */
	"$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/",
	"$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/"
	    "yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8.x",
	"$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/"
	    "yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8/",
	"$6$saltstring",
	"$6$",
	"$y$j9T$F5Jx5fExrKuPp53xLKQ..1",
	"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$",
	"{CRYPT}{CRYPT}$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0",
};

Test(password, garbage_hashes_never_match)
{
	for (size_t i = 0; i < ARRAY_SIZE(garbage_hashes); i++)
		cr_assert_neq(password_verify(PW, garbage_hashes[i]), 1,
		    "case %zu: %s", i, garbage_hashes[i]);
}

Test(password, overlong_hash_unusable)
{
	char *hash = xmalloc(1001);

	memset(hash, 'a', 1000);
	memcpy(hash, "$6$", 3);
	hash[1000] = '\0';
	cr_assert_eq(password_verify(PW, hash), -1);
	free(hash);
}

struct scheme_case {
	const char *scheme;
	const char *prefix;
};

static const struct scheme_case scheme_cases[] = {
	{ NULL, "$y$j9T$" },
	{ "yescrypt", "$y$j9T$" },
	{ "YesCrypt", "$y$j9T$" },
	{ "bcrypt", "$2b$12$" },	/* our default cost, not libxcrypt's 5 */
	{ "sha512crypt", "$6$" },
	{ "sha256crypt", "$5$" },
};

Test(password, hash_then_verify_each_scheme)
{
	for (size_t i = 0; i < ARRAY_SIZE(scheme_cases); i++) {
		const struct scheme_case *sc = &scheme_cases[i];
		const char *error = NULL;
		char *h1, *h2;

		h1 = password_hash(PW, sc->scheme, 0, &error);
		cr_assert_not_null(h1, "case %zu: %s", i, error);
		cr_assert_eq(strncmp(h1, sc->prefix, strlen(sc->prefix)), 0,
		    "case %zu: %s", i, h1);
		/* Default sha-crypt rounds leave no rounds= field. */
		cr_assert_null(strstr(h1, "rounds="), "case %zu", i);
		cr_assert_eq(password_verify(PW, h1), 1, "case %zu", i);
		cr_assert_eq(password_verify(PW "x", h1), 0, "case %zu", i);
		cr_assert_eq(password_verify("", h1), 0, "case %zu", i);
		cr_assert_eq(password_verify(NULL, h1), 0, "case %zu", i);
		/* A fresh salt each time. */
		h2 = password_hash(PW, sc->scheme, 0, &error);
		cr_assert_not_null(h2);
		cr_assert_str_neq(h1, h2, "case %zu", i);
		cr_assert_eq(password_verify(PW, h2), 1, "case %zu", i);
		free(h1);
		free(h2);
	}
}

struct cost_case {
	const char	*scheme;
	unsigned long	 cost;
	const char	*prefix;	/* NULL: must be refused */
};

static const struct cost_case cost_cases[] = {
	{ "yescrypt", 1, "$y$j75$" },
	{ "yescrypt", 4, "$y$j8T$" },
	{ "yescrypt", 12, NULL },
	{ "bcrypt", 3, NULL },
	{ "bcrypt", 4, "$2b$04$" },
	{ "bcrypt", 6, "$2b$06$" },
	{ "bcrypt", 32, NULL },
	{ "sha512crypt", 999, NULL },
	{ "sha512crypt", 1000, "$6$rounds=1000$" },
	{ "sha512crypt", 10000, "$6$rounds=10000$" },
	{ "sha512crypt", 1000000000, NULL },
	{ "sha256crypt", 1, NULL },
	{ "sha256crypt", 2000, "$5$rounds=2000$" },
};

Test(password, cost_honoured_and_checked)
{
	for (size_t i = 0; i < ARRAY_SIZE(cost_cases); i++) {
		const struct cost_case *cc = &cost_cases[i];
		const char *error = NULL;
		char *h = password_hash(PW, cc->scheme, cc->cost, &error);

		if (cc->prefix == NULL) {
			cr_assert_null(h, "case %zu: %s", i, h);
			cr_assert_not_null(error);
			cr_assert_eq(password_params_check(cc->scheme,
			    cc->cost, &error), -1, "case %zu", i);
			continue;
		}
		cr_assert_not_null(h, "case %zu: %s", i, error);
		cr_assert_eq(strncmp(h, cc->prefix, strlen(cc->prefix)), 0,
		    "case %zu: %s", i, h);
		cr_assert_eq(password_verify(PW, h), 1, "case %zu", i);
		cr_assert_eq(password_params_check(cc->scheme, cc->cost,
		    &error), 0, "case %zu", i);
		free(h);
	}
	/* The extremes are accepted without paying for a hash. */
	cr_assert_eq(password_params_check("bcrypt", 31, NULL), 0);
	cr_assert_eq(password_params_check("yescrypt", 11, NULL), 0);
	cr_assert_eq(password_params_check("sha512crypt", 999999999, NULL),
	    0);
}

Test(password, scheme_names)
{
	const char *error = NULL;

	cr_assert(password_scheme_valid("yescrypt"));
	cr_assert(password_scheme_valid("bcrypt"));
	cr_assert(password_scheme_valid("SHA512CRYPT"));
	cr_assert(password_scheme_valid("sha256crypt"));
	cr_assert(!password_scheme_valid(NULL));
	cr_assert(!password_scheme_valid(""));
	cr_assert(!password_scheme_valid("md5crypt"));
	cr_assert(!password_scheme_valid("yescrypt "));
	cr_assert(!password_scheme_valid("$y$"));
	cr_assert_null(password_hash(PW, "md5crypt", 0, &error));
	cr_assert_not_null(strstr(error, "unknown password scheme"));
	cr_assert_eq(password_params_check(NULL, 0, &error), 0);
}

Test(password, empty_password_refused)
{
	const char *error = NULL;
	/* crypt("", salt): a hash of the empty password made elsewhere. */
	static const char empty_hash[] = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"
	    "5P1uc1zvKhieqEtKttbwCQrTPXpY1cK9wEnTDKAqLD8";

	cr_assert_null(password_hash("", NULL, 0, &error));
	cr_assert_str_eq(error, "empty password");
	cr_assert_null(password_hash(NULL, NULL, 0, &error));
	cr_assert_null(password_hash("", NULL, 0, NULL));
	cr_assert_eq(password_verify("", empty_hash), 0);
	cr_assert_eq(password_verify("x", empty_hash), 0);
}

static char *
repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(password, length_limits)
{
	const char *error = NULL;
	char *max = repeat('p', PASSWORD_LEN_MAX);
	char *over = repeat('p', PASSWORD_LEN_MAX + 1);
	char *huge = repeat('p', 4096);
	char *h;

	h = password_hash(max, "sha512crypt", 1000, &error);
	cr_assert_not_null(h, "%s", error);
	cr_assert_eq(password_verify(max, h), 1);
	cr_assert_eq(password_verify(over, h), 0);
	cr_assert_eq(password_verify(huge, h), 0);
	free(h);
	cr_assert_null(password_hash(over, "sha512crypt", 1000, &error));
	cr_assert_str_eq(error, "password too long");
	cr_assert_null(password_hash(huge, NULL, 0, &error));
	cr_assert_str_eq(error, "password too long");
	free(max);
	free(over);
	free(huge);
}

Test(password, bcrypt_72_byte_limit)
{
	const char *error = NULL;
	char *p72 = repeat('a', 72);
	char *p73 = repeat('a', 73);
	char *h;

	/* Hashing refuses what bcrypt would silently ignore... */
	h = password_hash(p72, "bcrypt", 4, &error);
	cr_assert_not_null(h, "%s", error);
	cr_assert_eq(password_verify(p72, h), 1);
	cr_assert_null(password_hash(p73, "bcrypt", 4, &error));
	cr_assert_not_null(strstr(error, "72"));
	/* ...but verifying a bcrypt hash ignores bytes after the 72nd. */
	p73[72] = 'b';
	cr_assert_eq(password_verify(p73, h), 1);
	p73[71] = 'b';
	cr_assert_eq(password_verify(p73, h), 0);
	/* Other schemes take the whole password. */
	free(h);
	p73[71] = 'a';
	h = password_hash(p73, "sha256crypt", 1000, &error);
	cr_assert_not_null(h, "%s", error);
	cr_assert_eq(password_verify(p72, h), 0);
	free(h);
	free(p72);
	free(p73);
}

struct rehash_case {
	const char	*hash;
	const char	*scheme;
	unsigned long	 cost;
	bool		 want;
};

#define Y5 "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$" \
	"y8e1eitiNDaQsFFW6d.9KbSTlk5zV3R3coZQtfcNAO5"
#define B5 "$2b$05$CCCCCCCCCCCCCCCCCCCCC.poIKaw08HWUz4zkVKLs8VPIydUmXBPC"
#define S6 "$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/" \
	"yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8."
#define S6R "$6$rounds=10000$saltstringsaltst$vYfRg0cvt6jqN.cdxF22BORftyt" \
	"x0YPFkovksVubXuGbzxqnymO6iA22anPhq1CcF20s8mxa6wCNxLd21.zwA."

static const struct rehash_case rehash_cases[] = {
	{ Y5, NULL, 0, false },
	{ Y5, "yescrypt", 5, false },
	{ Y5, "yescrypt", 6, true },
	{ "{CRYPT}" Y5, "yescrypt", 0, false },
	{ Y5, "bcrypt", 0, true },
	{ B5, "bcrypt", 0, true },	/* default is 12 */
	{ B5, "bcrypt", 5, false },
	{ B5, "bcrypt", 10, true },
	{ "$2y$05$abcdefghijklmnopqrstuuFiPhXf1sVd3pCCRO.uVh34H/qI/ZsuS",
	    "bcrypt", 5, true },
	{ S6, "sha512crypt", 0, false },
	{ S6, "sha512crypt", 10000, true },
	{ S6R, "sha512crypt", 10000, false },
	{ S6R, "sha512crypt", 0, true },
	{ S6, "sha256crypt", 0, true },
	{ "$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0", NULL, 0, true },
	{ "{PLAIN}x", NULL, 0, true },
	{ NULL, NULL, 0, true },
	/* Nothing to rehash to: never asks. */
	{ "$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0", "md5crypt", 0, false },
	{ Y5, "yescrypt", 12, false },
};

Test(password, needs_rehash_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(rehash_cases); i++) {
		const struct rehash_case *rc = &rehash_cases[i];

		cr_assert_eq(password_needs_rehash(rc->hash, rc->scheme,
		    rc->cost), rc->want, "case %zu", i);
	}
}

Test(password, fresh_hash_needs_no_rehash)
{
	const char *error;
	char *h = password_hash(PW, "bcrypt", 4, &error);

	cr_assert_not_null(h);
	cr_assert(!password_needs_rehash(h, "bcrypt", 4));
	cr_assert(password_needs_rehash(h, "bcrypt", 5));
	free(h);
	h = password_hash(PW, "sha256crypt", 3000, &error);
	cr_assert_not_null(h);
	cr_assert(!password_needs_rehash(h, "sha256crypt", 3000));
	cr_assert(password_needs_rehash(h, "sha256crypt", 0));
	free(h);
}

#define THREADS 4

static void *
hash_thread(void *arg)
{
	char *pw = xasprintf("pw-%d", (int)(size_t)arg);
	const char *error;
	long ok = 0;

	for (int i = 0; i < 10; i++) {
		char *h = password_hash(pw, "sha256crypt", 1000, &error);

		if (h != NULL && password_verify(pw, h) == 1 &&
		    password_verify(PW, h) == 0)
			ok++;
		free(h);
	}
	free(pw);
	return (void *)ok;
}

Test(password, threads_hash_concurrently)
{
	pthread_t tids[THREADS];

	for (size_t i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&tids[i], NULL, hash_thread,
		    (void *)i), 0);
	for (size_t i = 0; i < THREADS; i++) {
		void *ok;

		pthread_join(tids[i], &ok);
		cr_assert_eq((long)ok, 10, "thread %zu", i);
	}
}
