/* Tests for relay: specs good and bad, the resolved fields, the canonical
 * form parsing back to an equal relay, and the list operations. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"
#include "relay.h"

struct spec_case {
	const char	*spec;
	const char	*canonical;	/* NULL: an error */
	const char	*err;		/* the whole error */
};

#define OK(s, c)	{ (s), (c), NULL }
#define BAD(s, e)	{ (s), NULL, (e) }

static const char err_port[] = "port must be a number from 1 to 65535";
static const char err_host[] = "host is not a host name or an IP address";
static const char err_v6[] = "not an IPv6 address (names go without "
    "brackets)";
static const char err_name[] = "name must be 1 to 64 letters, digits, '_', "
    "'-' or '.', starting with a letter or digit";
static const char err_option[] = "unknown option (expected tls=, auth= or "
    "policy=)";
static const char err_auth[] = "auth= must be an absolute path of at most "
    "1023 bytes";
static const char err_empty[] = "empty relay spec (use NAME HOST[:PORT] "
    "[OPTION ...])";
static const char err_brackets[] = "IPv6 addresses need brackets, as in "
    "[2001:db8::1]:587";

static const struct spec_case cases[] = {
	/* names and hosts */
	OK("isp smtp.isp.example", "isp smtp.isp.example"),
	OK("ISP SMTP.Isp.Example", "isp smtp.isp.example"),
	OK("a-1_b.c x", "a-1_b.c x"),
	OK("9 x.example", "9 x.example"),
	OK("isp localhost", "isp localhost"),
	OK("isp xn--bcher-kva.example", "isp xn--bcher-kva.example"),
	OK("isp 192.0.2.1", "isp 192.0.2.1"),
	OK("isp 192.0.2.1:25", "isp 192.0.2.1:25"),
	OK("isp [2001:DB8:0::1]", "isp [2001:db8::1]"),
	OK("isp [::1]:2525", "isp [::1]:2525"),
	OK("isp [::ffff:192.0.2.1]", "isp [::ffff:192.0.2.1]"),
	OK("isp h.example:1", "isp h.example:1"),
	OK("isp h.example:65535", "isp h.example:65535"),
	OK("isp h.example:00587", "isp h.example"),
	OK("\t isp \t h.example \t", "isp h.example"),
	BAD("", err_empty),
	BAD(" \t ", err_empty),
	BAD("isp", "missing host after name"),
	BAD("_isp h.example", err_name),
	BAD("-isp h.example", err_name),
	BAD(".isp h.example", err_name),
	BAD("i/sp h.example", err_name),
	BAD("i:sp h.example", err_name),
	BAD("isp h.example:0", err_port),
	BAD("isp h.example:65536", err_port),
	BAD("isp h.example:99999999999999999999", err_port),
	BAD("isp h.example:", err_port),
	BAD("isp h.example:-1", err_port),
	BAD("isp h.example:+1", err_port),
	BAD("isp h.example:25x", err_port),
	BAD("isp :25", err_host),
	BAD("isp h_1.example", err_host),
	BAD("isp h.example.", err_host),
	BAD("isp -h.example", err_host),
	BAD("isp h..example", err_host),
	BAD("isp 192.0.2", err_host),
	BAD("isp 192.0.2.256", err_host),
	BAD("isp 1.2.3.4.5", err_host),
	BAD("isp b\xc3\xbc" "cher.example", err_host),
	BAD("isp 2001:db8::1", err_brackets),
	BAD("isp ::1:25", err_brackets),
	BAD("isp [::1", "missing ] after IPv6 address"),
	BAD("isp [::1]25", "text after ] (use [IPv6]:PORT)"),
	BAD("isp [::1]:", err_port),
	BAD("isp [::1]:0", err_port),
	BAD("isp [192.0.2.1]", err_v6),
	BAD("isp [h.example]", err_v6),
	BAD("isp []", err_v6),
	BAD("isp [fe80::1%eth0]", err_v6),
	BAD("isp [0000:0000:0000:0000:0000:0000:0000:0000:0]", err_v6),
	BAD("isp h.example\x01", "control character in relay spec"),
	BAD("isp h.example\n", "control character in relay spec"),
	BAD("isp h.example\x7f", "control character in relay spec"),

	/* options */
	OK("isp h.example tls=starttls", "isp h.example"),
	OK("isp h.example tls=implicit", "isp h.example tls=implicit"),
	OK("isp h.example:465 tls=implicit", "isp h.example tls=implicit"),
	OK("isp h.example:587 tls=implicit",
	    "isp h.example:587 tls=implicit"),
	OK("isp h.example:465", "isp h.example:465"),
	OK("isp h.example:465 tls=starttls", "isp h.example:465"),
	OK("isp h.example auth=/etc/sluice/isp.auth",
	    "isp h.example auth=/etc/sluice/isp.auth"),
	OK("isp h.example auth=/a=b", "isp h.example auth=/a=b"),
	OK("isp h.example policy=verify", "isp h.example"),
	OK("isp h.example policy=encrypt", "isp h.example policy=encrypt"),
	OK("isp h.example policy=dane", "isp h.example policy=dane"),
	OK("isp [::1] policy=dane auth=/a tls=implicit",
	    "isp [::1] tls=implicit auth=/a policy=dane"),
	BAD("isp h.example tls=none", "tls= must be starttls or implicit"),
	BAD("isp h.example tls=STARTTLS", "tls= must be starttls or implicit"),
	BAD("isp h.example tls=", "tls= must be starttls or implicit"),
	BAD("isp h.example tls", "option needs a value, as in tls=implicit"),
	BAD("isp h.example tls=implicit tls=implicit", "option given twice"),
	BAD("isp h.example policy=may",
	    "policy= must be encrypt, verify or dane"),
	BAD("isp h.example policy=none",
	    "policy= must be encrypt, verify or dane"),
	BAD("isp h.example policy=DANE",
	    "policy= must be encrypt, verify or dane"),
	BAD("isp h.example auth=", err_auth),
	BAD("isp h.example auth=isp.auth", err_auth),
	BAD("isp h.example auth=/a auth=/b", "option given twice"),
	BAD("isp h.example user=me", err_option),
	BAD("isp h.example =x", err_option),
	BAD("isp h.example Tls=implicit", err_option),
	BAD("isp h.example port=25", err_option),
};

Test(relay, cases)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct spec_case *c = &cases[i];
		struct relay r, back;
		const char *err = NULL;
		char *s;
		int rc;

		memset(&r, 0xa5, sizeof(r));
		rc = relay_parse(c->spec, strlen(c->spec), &r, &err);
		if (c->canonical == NULL) {
			cr_assert_eq(rc, -1, "case %zu \"%s\" parsed", i,
			    c->spec);
			cr_assert_str_eq(err, c->err, "case %zu \"%s\"", i,
			    c->spec);
			continue;
		}
		cr_assert_eq(rc, 0, "case %zu \"%s\": %s", i, c->spec, err);
		s = relay_format(&r);
		cr_assert_str_eq(s, c->canonical, "case %zu", i);
		cr_assert_eq(relay_parse(s, strlen(s), &back, &err), 0,
		    "case %zu \"%s\": %s", i, s, err);
		cr_assert(relay_equal(&r, &back), "case %zu", i);
		free(s);
		relay_clear(&back);
		relay_clear(&r);
	}
}

/* A spec cut anywhere never reads past its length. */
Test(relay, every_prefix)
{
	static const char spec[] = "isp [2001:db8::1]:2525 tls=implicit "
	    "auth=/etc/sluice/isp.auth policy=dane";

	for (size_t n = 0; n <= sizeof(spec) - 1; n++) {
		char *copy = xstrndup(spec, n);	/* exact size for ASan */
		struct relay r;
		const char *err = NULL;

		if (relay_parse(copy, n, &r, &err) == 0)
			relay_clear(&r);
		else
			cr_assert_not_null(err);
		free(copy);
	}
}

Test(relay, fields)
{
	static const char plain[] = "ISP Smtp.ISP.example";
	static const char full[] = "backup [2001:db8::25]:2525 tls=implicit "
	    "auth=/etc/sluice/backup.auth policy=encrypt";
	struct relay r;
	const char *err = NULL;

	cr_assert_eq(relay_parse(plain, sizeof(plain) - 1, &r, &err), 0);
	cr_assert_str_eq(r.name, "isp");
	cr_assert_str_eq(r.host, "smtp.isp.example");
	cr_assert_eq(r.port, RELAY_PORT_STARTTLS);
	cr_assert_eq(r.tls, RELAY_TLS_STARTTLS);
	cr_assert_null(r.auth_file);
	cr_assert_str_eq(r.policy, "verify");
	relay_clear(&r);
	cr_assert_null(r.name);
	relay_clear(&r);
	relay_clear(NULL);

	cr_assert_eq(relay_parse(full, sizeof(full) - 1, &r, &err), 0);
	cr_assert_str_eq(r.name, "backup");
	cr_assert_str_eq(r.host, "2001:db8::25");
	cr_assert_eq(r.port, 2525);
	cr_assert_eq(r.tls, RELAY_TLS_IMPLICIT);
	cr_assert_str_eq(r.auth_file, "/etc/sluice/backup.auth");
	cr_assert_str_eq(r.policy, "encrypt");
	relay_clear(&r);

	cr_assert_eq(relay_parse("a h.example tls=implicit", 24, &r, &err), 0);
	cr_assert_eq(r.port, RELAY_PORT_IMPLICIT);
	relay_clear(&r);
}

Test(relay, limits)
{
	char s[1200];
	size_t n;
	struct relay r;
	const char *err = NULL;

	/* A name of 64 characters, and 65. */
	memset(s, 'n', 64);
	memcpy(s + 64, " h.example", 10);
	n = 74;
	cr_assert_eq(relay_parse(s, n, &r, &err), 0, "%s", err);
	cr_assert_eq(strlen(r.name), RELAY_NAME_MAX);
	relay_clear(&r);
	memset(s, 'n', 65);
	memcpy(s + 65, " h.example", 10);
	cr_assert_eq(relay_parse(s, 75, &r, &err), -1);
	cr_assert_str_eq(err, err_name);
	cr_assert(relay_name_is_valid(s, 64));
	cr_assert(!relay_name_is_valid(s, 65));
	cr_assert(!relay_name_is_valid(s, 0));

	/* An auth path of 1023 bytes, and 1024. */
	memcpy(s, "a h.example auth=/", 18);
	n = 18;
	while (n < 17 + RELAY_PATH_MAX)
		s[n++] = 'p';
	cr_assert_eq(relay_parse(s, n, &r, &err), 0, "%s", err);
	cr_assert_eq(strlen(r.auth_file), RELAY_PATH_MAX);
	relay_clear(&r);
	s[n++] = 'p';
	cr_assert_eq(relay_parse(s, n, &r, &err), -1);
	cr_assert_str_eq(err, err_auth);
}

Test(relay, equal)
{
	static const char *const specs[] = {
		"a h.example", "b h.example", "a i.example", "a h.example:25",
		"a h.example tls=implicit", "a h.example auth=/x",
		"a h.example auth=/y", "a h.example policy=dane",
	};
	struct relay v[ARRAY_SIZE(specs)], copy;
	const char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		cr_assert_eq(relay_parse(specs[i], strlen(specs[i]), &v[i],
		    &err), 0, "%s", specs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(specs); j++)
			cr_assert_eq(relay_equal(&v[i], &v[j]), i == j,
			    "%zu %zu", i, j);
		relay_copy(&copy, &v[i]);
		cr_assert(relay_equal(&copy, &v[i]));
		cr_assert_neq(copy.name, v[i].name);
		relay_clear(&copy);
	}
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		relay_clear(&v[i]);
}

Test(relay, lists)
{
	static const char *const specs[] = {
		"isp smtp.isp.example", "Backup [::1]:2525", "x.y 192.0.2.1",
	};
	struct relay_list list = { NULL, 0 }, copy;
	const struct relay *found;
	const char *err = NULL;

	cr_assert_null(relay_list_find(&list, "isp"));
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct relay r;

		cr_assert_eq(relay_parse(specs[i], strlen(specs[i]), &r,
		    &err), 0);
		relay_list_append(&list, &r);
		cr_assert_null(r.name);
	}
	cr_assert_eq(list.n, 3);
	found = relay_list_find(&list, "BACKUP");
	cr_assert_eq(found, &list.v[1]);
	cr_assert_eq(found->port, 2525);
	cr_assert_eq(relay_list_find(&list, "x.y"), &list.v[2]);
	cr_assert_null(relay_list_find(&list, "x"));
	cr_assert_null(relay_list_find(&list, ""));
	cr_assert_null(relay_list_find(&list, NULL));

	relay_list_copy(&copy, &list);
	cr_assert(relay_list_equal(&copy, &list));
	cr_assert_neq(copy.v[0].host, list.v[0].host);
	relay_clear(&copy.v[copy.n - 1]);
	copy.n--;
	cr_assert(!relay_list_equal(&copy, &list));
	relay_list_clear(&copy);
	relay_list_clear(&list);
	cr_assert_eq(list.n, 0);
	cr_assert_null(list.v);
	relay_list_clear(NULL);
}
