/* password: see password.h. */
#include <crypt.h>
#include <errno.h>
#include <strings.h>

#include "password.h"
#include "util.h"

#if PASSWORD_LEN_MAX >= CRYPT_MAX_PASSPHRASE_SIZE
#error "PASSWORD_LEN_MAX must stay below libxcrypt's passphrase limit"
#endif

struct password_scheme {
	const char	*name;
	const char	*prefix;	/* what crypt_gensalt_rn() wants */
	unsigned long	 cost_min;
	unsigned long	 cost_max;
	unsigned long	 cost_default;	/* for cost 0; 0: libxcrypt's */
	size_t		 len_max;	/* longest password it reads whole */
};

static const struct password_scheme password_schemes[] = {
	{ "yescrypt", "$y$", 1, 11, 0, PASSWORD_LEN_MAX },
	/* libxcrypt's bcrypt default (5) is too cheap for today's GPUs. */
	{ "bcrypt", "$2b$", 4, 31, 12, PASSWORD_BCRYPT_LEN_MAX },
	{ "sha512crypt", "$6$", 1000, 999999999, 0, PASSWORD_LEN_MAX },
	{ "sha256crypt", "$5$", 1000, 999999999, 0, PASSWORD_LEN_MAX },
};

/* Dovecot scheme names whose values are plain crypt(3) strings. */
static const char *const password_dovecot_prefixes[] = {
	"{CRYPT}", "{BLF-CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}",
	"{MD5-CRYPT}",
};

static const struct password_scheme *
password_scheme_find(const char *name)
{
	if (name == NULL)
		name = PASSWORD_SCHEME_DEFAULT;
	for (size_t i = 0; i < ARRAY_SIZE(password_schemes); i++)
		if (strcasecmp(name, password_schemes[i].name) == 0)
			return &password_schemes[i];
	return NULL;
}

bool
password_scheme_valid(const char *name)
{
	return name != NULL && password_scheme_find(name) != NULL;
}

static const struct password_scheme *
password_scheme_get(const char *name, unsigned long cost,
    const char **error_r)
{
	const struct password_scheme *s = password_scheme_find(name);

	if (s == NULL) {
		*error_r = "unknown password scheme (want yescrypt, bcrypt, "
		    "sha512crypt or sha256crypt)";
		return NULL;
	}
	if (cost != 0 && (cost < s->cost_min || cost > s->cost_max)) {
		*error_r = "password cost out of range for the scheme";
		return NULL;
	}
	return s;
}

int
password_params_check(const char *scheme, unsigned long cost,
    const char **error_r)
{
	const char *dummy;

	if (error_r == NULL)
		error_r = &dummy;
	return password_scheme_get(scheme, cost, error_r) == NULL ? -1 : 0;
}

/* Run crypt_r() with a wiped heap work area; NULL when crypt failed. */
static char *
password_crypt(const char *password, const char *setting)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out;
	char *result = NULL;

	out = crypt_r(password, setting, data);
	/* libxcrypt may return a "*0"/"*1" failure token instead of NULL. */
	if (out != NULL && out[0] != '*' && out[0] != '\0')
		result = xstrdup(out);
	mem_wipe(data, sizeof(*data));
	free(data);
	return result;
}

char *
password_hash(const char *password, const char *scheme, unsigned long cost,
    const char **error_r)
{
	const struct password_scheme *s;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *dummy;
	size_t len;
	char *hash;

	if (error_r == NULL)
		error_r = &dummy;
	if ((s = password_scheme_get(scheme, cost, error_r)) == NULL)
		return NULL;
	len = password != NULL ? strnlen(password, PASSWORD_LEN_MAX + 1) : 0;
	if (len == 0) {
		*error_r = "empty password";
		return NULL;
	}
	if (len > s->len_max) {
		*error_r = s->len_max == PASSWORD_BCRYPT_LEN_MAX ?
		    "password longer than the 72 bytes bcrypt uses" :
		    "password too long";
		return NULL;
	}
	if (cost == 0)
		cost = s->cost_default;
	/* NULL rbytes: libxcrypt draws the salt from the OS itself. */
	if (crypt_gensalt_rn(s->prefix, cost, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		*error_r = "cannot generate a salt";
		return NULL;
	}
	if ((hash = password_crypt(password, setting)) == NULL)
		*error_r = "crypt failed";
	return hash;
}

/* The crypt(3) string inside hash, or NULL when the prefix is unknown. */
static const char *
password_prefix_strip(const char *hash)
{
	if (hash[0] != '{')
		return hash;
	for (size_t i = 0; i < ARRAY_SIZE(password_dovecot_prefixes); i++) {
		const char *p = password_dovecot_prefixes[i];
		size_t n = strlen(p);

		if (strncasecmp(hash, p, n) == 0)
			return hash + n;
	}
	return NULL;
}

/* Empty, locked ('!'/'*' in shadow(5)) or too long for libxcrypt. */
static bool
password_hash_usable(const char *hash)
{
	return hash != NULL && hash[0] != '\0' && hash[0] != '!' &&
	    hash[0] != '*' && strnlen(hash, CRYPT_OUTPUT_SIZE) <
	    CRYPT_OUTPUT_SIZE;
}

int
password_verify(const char *password, const char *hash)
{
	size_t plen, hlen;
	char *out;
	int ret;

	if (hash == NULL || (hash = password_prefix_strip(hash)) == NULL ||
	    !password_hash_usable(hash))
		return -1;
	plen = password != NULL ? strnlen(password, PASSWORD_LEN_MAX + 1) : 0;
	if (plen == 0 || plen > PASSWORD_LEN_MAX)
		return 0;
	if ((out = password_crypt(password, hash)) == NULL)
		return -1;
	/* A hash's length is public; its bytes are compared blind. */
	hlen = strlen(hash);
	ret = strlen(out) == hlen && mem_equal_ct(out, hash, hlen);
	mem_wipe(out, strlen(out));
	free(out);
	return ret;
}

/*
 * Length of the parameter part of a crypt string: "$y$j9T$", "$2b$05$",
 * "$6$rounds=N$" or "$6$"; 0 for formats whose parameters we do not read.
 */
static size_t
password_params_len(const char *s)
{
	const char *p;
	int dollars = 0;

	if (strncmp(s, "$5$", 3) == 0 || strncmp(s, "$6$", 3) == 0) {
		if (strncmp(s + 3, "rounds=", 7) != 0)
			return 3;
		p = strchr(s + 3, '$');
		return p != NULL ? (size_t)(p - s) + 1 : 0;
	}
	if (strncmp(s, "$y$", 3) != 0 && strncmp(s, "$2", 2) != 0)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p == '$' && ++dollars == 3)
			return (size_t)(p - s) + 1;
	return 0;
}

bool
password_needs_rehash(const char *hash, const char *scheme,
    unsigned long cost)
{
	/* Only the parameters are compared, so any fixed salt bytes do. */
	static const char rbytes[32];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const struct password_scheme *s;
	const char *error;
	size_t want, have;

	if ((s = password_scheme_get(scheme, cost, &error)) == NULL)
		return false;
	if (cost == 0)
		cost = s->cost_default;
	if (crypt_gensalt_rn(s->prefix, cost, rbytes, sizeof(rbytes),
	    setting, sizeof(setting)) == NULL)
		return false;
	if (hash == NULL || (hash = password_prefix_strip(hash)) == NULL)
		return true;
	want = password_params_len(setting);
	have = password_params_len(hash);
	return want == 0 || want != have || memcmp(setting, hash, want) != 0;
}
