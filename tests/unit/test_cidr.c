/* Tests for cidr: strict parsing, matching at every boundary, lists and
 * prefix keys. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cidr.h"
#include "util.h"

#define IN(s)	(s), (sizeof(s) - 1)

static const struct {
	const char	*in;
	size_t		 len;
	const char	*want;		/* cidr_format(), or NULL */
	bool		 host_bits;
	const char	*error;		/* when want is NULL */
} parse_cases[] = {
	{ IN("192.0.2.0/24"), "192.0.2.0/24", false, NULL },
	{ IN("192.0.2.1/24"), "192.0.2.0/24", true, NULL },
	{ IN("192.0.2.1"), "192.0.2.1/32", false, NULL },
	{ IN("192.0.2.1/32"), "192.0.2.1/32", false, NULL },
	{ IN("0.0.0.0/0"), "0.0.0.0/0", false, NULL },
	{ IN("255.255.255.255/0"), "0.0.0.0/0", true, NULL },
	{ IN("10.1.2.3/31"), "10.1.2.2/31", true, NULL },
	{ IN("10.1.2.2/31"), "10.1.2.2/31", false, NULL },
	{ IN("1.2.3.4/9"), "1.0.0.0/9", true, NULL },
	{ IN("2001:db8::/32"), "2001:db8::/32", false, NULL },
	{ IN("2001:DB8::/32"), "2001:db8::/32", false, NULL },
	{ IN("2001:db8::1/32"), "2001:db8::/32", true, NULL },
	{ IN("2001:db8::1/127"), "2001:db8::/127", true, NULL },
	{ IN("2001:db8::1"), "2001:db8::1/128", false, NULL },
	{ IN("::/0"), "::/0", false, NULL },
	{ IN("::1"), "::1/128", false, NULL },
	{ IN("::ffff:192.0.2.0/120"), "192.0.2.0/24", false, NULL },
	{ IN("::ffff:192.0.2.1"), "192.0.2.1/32", false, NULL },
	{ IN("::ffff:0:0/96"), "0.0.0.0/0", false, NULL },
	{ IN(""), NULL, false, "empty network" },
	{ IN("/"), NULL, false, "missing address" },
	{ IN("/24"), NULL, false, "missing address" },
	{ IN("192.0.2.0/"), NULL, false, "missing prefix length after /" },
	{ IN("192.0.2.0/33"), NULL, false, "IPv4 prefix length over 32" },
	{ IN("192.0.2.0/128"), NULL, false, "IPv4 prefix length over 32" },
	{ IN("2001:db8::/129"), NULL, false, "IPv6 prefix length over 128" },
	{ IN("192.0.2.0/024"), NULL, false, "leading zero in prefix length" },
	{ IN("192.0.2.0/00"), NULL, false, "leading zero in prefix length" },
	{ IN("192.0.2.0/-1"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/+8"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/ 8"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/8 "), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/0x8"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/1000"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/24/8"), NULL, false, "bad prefix length" },
	{ IN("192.0.2.0/2\0"), NULL, false, "bad prefix length" },
	{ IN("192.0.2"), NULL, false, "bad IPv4 address" },
	{ IN("192.0.2.256"), NULL, false, "bad IPv4 address" },
	{ IN("192.0.2.01"), NULL, false, "bad IPv4 address" },
	{ IN(" 192.0.2.0"), NULL, false, "bad IPv4 address" },
	{ IN("192.0.2.0 "), NULL, false, "bad IPv4 address" },
	{ IN("mail.example.com"), NULL, false, "bad IPv4 address" },
	{ IN("1.2.3.4:25"), NULL, false, "bad IPv6 address" },
	{ IN("2001:db8:::/32"), NULL, false, "bad IPv6 address" },
	{ IN("fe80::1%eth0"), NULL, false, "bad IPv6 address" },
	{ IN("[2001:db8::]/32"), NULL, false, "bad IPv6 address" },
	{ IN("192.0.2.0\0/24"), NULL, false, "not an IP address" },
	{ IN("0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/0"), NULL,
	    false, "not an IP address" },
};

Test(cidr, parse)
{
	struct cidr c;
	char text[CIDR_TEXT_SIZE];
	const char *error;

	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		int rc;

		error = NULL;
		rc = cidr_parse(&c, parse_cases[i].in, parse_cases[i].len,
		    &error);
		if (parse_cases[i].want == NULL) {
			cr_expect_eq(rc, -1, "case %zu", i);
			cr_expect_str_eq(error ? error : "(null)",
			    parse_cases[i].error, "case %zu", i);
			continue;
		}
		cr_expect_eq(rc, 0, "case %zu: %s", i, error);
		if (rc != 0)
			continue;
		cidr_format(&c, text, sizeof(text));
		cr_expect_str_eq(text, parse_cases[i].want, "case %zu", i);
		cr_expect_eq(c.host_bits, parse_cases[i].host_bits,
		    "case %zu", i);
	}
}

/* A socket address from text, as accept() would give it. */
static const struct sockaddr *
sockaddr_from(struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1,
		    "%s", text);
	} else {
		sin->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1,
		    "%s", text);
	}
	return (const struct sockaddr *)ss;
}

static const struct {
	const char	*net;
	const char	*addr;
	bool		 match;
} match_cases[] = {
	{ "192.0.2.0/24", "192.0.2.0", true },
	{ "192.0.2.0/24", "192.0.2.255", true },
	{ "192.0.2.0/24", "192.0.1.255", false },
	{ "192.0.2.0/24", "192.0.3.0", false },
	{ "192.0.2.0/25", "192.0.2.127", true },
	{ "192.0.2.0/25", "192.0.2.128", false },
	{ "192.0.2.1/32", "192.0.2.1", true },
	{ "192.0.2.1/32", "192.0.2.0", false },
	{ "192.0.2.1/32", "192.0.2.2", false },
	{ "192.0.2.2/31", "192.0.2.2", true },
	{ "192.0.2.2/31", "192.0.2.3", true },
	{ "192.0.2.2/31", "192.0.2.1", false },
	{ "192.0.2.2/31", "192.0.2.4", false },
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::1", false },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", true },
	{ "192.0.2.0/24", "::ffff:192.0.2.1", true },
	{ "192.0.2.0/24", "::ffff:192.0.3.1", false },
	{ "192.0.2.0/24", "::192.0.2.1", false },
	{ "::ffff:192.0.2.0/120", "192.0.2.5", true },
	{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.5", true },
	{ "2001:db8::/32", "2001:db8::", true },
	{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "2001:db8::/32", "192.0.2.1", false },
	{ "2001:db8:8000::/33", "2001:db8:8000::", true },
	{ "2001:db8:8000::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff",
	    false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::", false },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "2001:db8::/127", "2001:db8::", true },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
	{ "2001:db8::/127", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "::/0", "::", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/0", "1.2.3.4", false },
	{ "::/0", "::ffff:1.2.3.4", false },
	/* An IPv6 network spanning the mapped range still never matches a
	 * mapped client (found by fuzz_cidr). */
	{ "::/80", "::fffe:ffff:ffff", true },
	{ "::/80", "::ffff:255.255.255.255", false },
};

Test(cidr, match_boundaries)
{
	struct sockaddr_storage ss;
	const struct sockaddr *sa;
	struct cidr c;
	const char *error;

	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		const char *net = match_cases[i].net;
		bool want = match_cases[i].match;

		cr_assert_eq(cidr_parse(&c, net, strlen(net), &error), 0);
		sa = sockaddr_from(&ss, match_cases[i].addr);
		cr_expect_eq(cidr_match(&c, sa), want, "case %zu: %s in %s",
		    i, match_cases[i].addr, net);
		if (sa->sa_family == AF_INET)
			cr_expect_eq(cidr_match_in(&c,
			    &((const struct sockaddr_in *)sa)->sin_addr), want);
		else
			cr_expect_eq(cidr_match_in6(&c,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr),
			    want);
	}
}

Test(cidr, match_other_family)
{
	struct sockaddr_un sun;
	struct cidr c;
	struct cidr_list list;
	const char *error;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_eq(cidr_parse(&c, IN("0.0.0.0/0"), &error), 0);
	cr_assert_not(cidr_match(&c, (struct sockaddr *)&sun));
	cidr_list_init(&list);
	cr_assert_eq(cidr_list_parse(&list, IN("0.0.0.0/0 ::/0"), NULL,
	    &error), 0);
	cr_assert_not(cidr_list_match(&list, (struct sockaddr *)&sun));
	cidr_list_free(&list);
}

Test(cidr, list_parse_and_match)
{
	struct cidr_list list;
	struct sockaddr_storage ss;
	char text[CIDR_TEXT_SIZE];
	const char *error;
	size_t off = 99;

	cidr_list_init(&list);
	cr_assert_eq(cidr_list_parse(&list, IN(""), &off, &error), 0);
	cr_assert_eq(cidr_list_parse(&list, IN(" ,\t,\r\n"), &off, &error), 0);
	cr_assert_eq(list.count, 0);
	cr_assert_not(cidr_list_match(&list, sockaddr_from(&ss, "1.2.3.4")));

	cr_assert_eq(cidr_list_parse(&list,
	    IN("192.0.2.0/24, 2001:db8::/32\t10.0.0.1,,\n"), &off, &error), 0);
	cr_assert_eq(list.count, 3);
	cidr_format(&list.items[2], text, sizeof(text));
	cr_assert_str_eq(text, "10.0.0.1/32");
	cr_assert(cidr_list_match(&list, sockaddr_from(&ss, "192.0.2.9")));
	cr_assert(cidr_list_match(&list, sockaddr_from(&ss, "2001:db8::9")));
	cr_assert(cidr_list_match(&list,
	    sockaddr_from(&ss, "::ffff:10.0.0.1")));
	cr_assert_not(cidr_list_match(&list, sockaddr_from(&ss, "10.0.0.2")));
	cr_assert_not(cidr_list_match(&list, sockaddr_from(&ss, "2001:db9::")));

	/* A bad entry appends nothing and says where it is. */
	cr_assert_eq(cidr_list_parse(&list, IN("198.51.100.0/24, bogus/8"),
	    &off, &error), -1);
	cr_assert_eq(off, 17);
	cr_assert_str_eq(error, "bad IPv4 address");
	cr_assert_eq(list.count, 3);
	cr_assert_eq(cidr_list_parse(&list, IN("1.2.3.4/33"), NULL, &error),
	    -1);
	cr_assert_eq(list.count, 3);
	cidr_list_free(&list);
	cr_assert_null(list.items);
	cr_assert_eq(list.count, 0);
}

Test(cidr, list_grows)
{
	struct cidr_list list;
	struct sockaddr_storage ss;
	char text[32];
	const char *error;

	cidr_list_init(&list);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(text, sizeof(text), "10.0.%d.0/24", i);

		cr_assert_eq(cidr_list_parse(&list, text, (size_t)n, NULL,
		    &error), 0);
	}
	cr_assert_eq(list.count, 100);
	cr_assert(cidr_list_match(&list, sockaddr_from(&ss, "10.0.99.255")));
	cr_assert_not(cidr_list_match(&list, sockaddr_from(&ss, "10.0.100.0")));
	cidr_list_free(&list);
}

static const struct {
	const char	*addr;
	unsigned int	 v4, v6;
	const char	*want;		/* NULL: -1 */
} key_cases[] = {
	{ "192.0.2.77", 24, 64, "192.0.2.0/24" },
	{ "::ffff:192.0.2.77", 24, 64, "192.0.2.0/24" },
	{ "192.0.2.77", 16, 64, "192.0.0.0/16" },
	{ "192.0.2.77", 32, 64, "192.0.2.77/32" },
	{ "192.0.2.77", 0, 64, "0.0.0.0/0" },
	{ "192.0.2.77", 33, 64, NULL },
	{ "2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48" },
	{ "2001:db8:1:2:3:4:5:6", 24, 56, "2001:db8:1::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 24, 56, "2001:db8:1:200::/56" },
	{ "2001:db8:1:2:3:4:5:6", 24, 128, "2001:db8:1:2:3:4:5:6/128" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 24, 128,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	{ "2001:db8:1:2:3:4:5:6", 24, 129, NULL },
	{ "2001:db8:1:2:3:4:5:6", 33, 64, "2001:db8:1:2::/64" },
};

Test(cidr, prefix_key)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	char key[CIDR_TEXT_SIZE];

	for (size_t i = 0; i < ARRAY_SIZE(key_cases); i++) {
		int rc = cidr_prefix_key(sockaddr_from(&ss, key_cases[i].addr),
		    key_cases[i].v4, key_cases[i].v6, key, sizeof(key));

		if (key_cases[i].want == NULL) {
			cr_expect_eq(rc, -1, "case %zu", i);
			continue;
		}
		cr_expect_eq(rc, 0, "case %zu", i);
		cr_expect_str_eq(key, key_cases[i].want, "case %zu", i);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_eq(cidr_prefix_key((struct sockaddr *)&sun, 24, 64, key,
	    sizeof(key)), -1);
}
