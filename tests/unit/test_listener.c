/* Tests for listener: specs good and bad, the resolved fields and socket
 * addresses, and the canonical form parsing back to an equal listener. */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <string.h>

#include "util.h"
#include "listener.h"

struct spec_case {
	const char	*spec;
	const char	*canonical;	/* NULL: an error */
	const char	*err;		/* the whole error */
};

#define OK(s, c)	{ (s), (c), NULL }
#define BAD(s, e)	{ (s), NULL, (e) }

static const char err_port[] = "port must be a number from 1 to 65535";
static const char err_v4[] = "not an IPv4 address (names are not looked up)";
static const char err_v6[] = "not an IPv6 address (names are not looked up)";
static const char err_auth[] = "auth-plaintext is allowed only on loopback "
    "addresses and unix sockets";
static const char err_mode[] = "mode= must be octal permissions such as 0660";
static const char err_backlog[] = "backlog= must be a number from 16 to 65535";
static const char err_option[] = "unknown option (expected name=, "
    "auth-plaintext, bare-lf=, backlog= or mode=)";
static const char err_role[] = "unknown role (expected mx, submission, "
    "submissions, local, imap, imaps, pop3 or pop3s)";
static const char err_empty[] = "empty listener spec (use ROLE ADDRESS "
    "[OPTION ...])";
static const char err_noport[] = "missing port (use ADDRESS:PORT)";

static const struct spec_case cases[] = {
	/* roles and addresses */
	OK("mx *:25", "mx *:25"),
	OK("submission *:587", "submission *:587"),
	OK("submissions *:465", "submissions *:465"),
	OK("imap *:143", "imap *:143"),
	OK("imaps *:993", "imaps *:993"),
	OK("pop3 *:110", "pop3 *:110"),
	OK("pop3s *:995", "pop3s *:995"),
	OK("local /run/sluice/smtp.sock", "local /run/sluice/smtp.sock"),
	OK("mx /run/mx.sock", "mx /run/mx.sock"),
	OK("mx 192.0.2.1:25", "mx 192.0.2.1:25"),
	OK("mx 0.0.0.0:25", "mx 0.0.0.0:25"),
	OK("mx [2001:db8::1]:25", "mx [2001:db8::1]:25"),
	OK("mx [2001:DB8:0:0::1]:25", "mx [2001:db8::1]:25"),
	OK("mx [::]:25", "mx [::]:25"),
	OK("mx *:1", "mx *:1"),
	OK("mx *:65535", "mx *:65535"),
	OK("mx *:00025", "mx *:25"),
	OK("\t mx \t *:25 \t", "mx *:25"),
	BAD("", err_empty),
	BAD(" \t ", err_empty),
	BAD("smtp *:25", err_role),
	BAD("MX *:25", err_role),
	BAD("mx", "missing address after role"),
	BAD("mx *:0", err_port),
	BAD("mx *:65536", err_port),
	BAD("mx *:99999999999999999999", err_port),
	BAD("mx *:", err_port),
	BAD("mx *:-1", err_port),
	BAD("mx *:+25", err_port),
	BAD("mx *:25x", err_port),
	BAD("mx *", err_noport),
	BAD("mx 127.0.0.1", err_noport),
	BAD("mx 127.0.0.1:0", err_port),
	BAD("mx ::1:25", "IPv6 addresses need brackets, as in [::1]:25"),
	BAD("mx 2001:db8::1", "IPv6 addresses need brackets, as in [::1]:25"),
	BAD("mx [::1]", "missing port (use [IPv6]:PORT)"),
	BAD("mx [::1]25", "missing port (use [IPv6]:PORT)"),
	BAD("mx [::1]:65536", err_port),
	BAD("mx [::1:25", "missing ] after IPv6 address"),
	BAD("mx [1.2.3.4]:25", err_v6),
	BAD("mx [fe80::1%eth0]:25", err_v6),
	BAD("mx [0000:0000:0000:0000:0000:0000:0000:0000:0]:25", err_v6),
	BAD("mx 1.2.3:25", err_v4),
	BAD("mx 256.1.1.1:25", err_v4),
	BAD("mx localhost:25", err_v4),
	BAD("mx 255.255.255.2555:25", err_v4),
	BAD("mx run/smtp.sock", "unix socket path must be absolute"),
	BAD("mx *:25\x01", "control character in listener spec"),
	BAD("mx *:25\n", "control character in listener spec"),

	/* options */
	OK("mx *:25 name=inbound", "mx *:25 name=inbound"),
	OK("mx *:25 name=mx", "mx *:25"),
	OK("mx *:25 name=A-b_c.9", "mx *:25 name=A-b_c.9"),
	OK("mx *:25 name=abcdefghijklmnopqrstuvwxyz012345",
	    "mx *:25 name=abcdefghijklmnopqrstuvwxyz012345"),
	BAD("mx *:25 name=abcdefghijklmnopqrstuvwxyz0123456",
	    "name= must be 1 to 32 characters"),
	BAD("mx *:25 name=", "name= must be 1 to 32 characters"),
	BAD("mx *:25 name=a/b",
	    "name= may hold only letters, digits, '-', '_' and '.'"),
	BAD("mx *:25 name", "option needs a value, as in backlog=511"),
	BAD("mx *:25 name=a name=b", "option given twice"),
	OK("imap [::1]:143 auth-plaintext", "imap [::1]:143 auth-plaintext"),
	OK("imap 127.0.0.1:143 auth-plaintext",
	    "imap 127.0.0.1:143 auth-plaintext"),
	OK("imap 127.255.1.2:143 auth-plaintext",
	    "imap 127.255.1.2:143 auth-plaintext"),
	OK("imap [::ffff:127.0.0.1]:143 auth-plaintext",
	    "imap [::ffff:127.0.0.1]:143 auth-plaintext"),
	OK("local /run/s.sock auth-plaintext",
	    "local /run/s.sock auth-plaintext"),
	BAD("imap 128.0.0.1:143 auth-plaintext", err_auth),
	BAD("imap 126.255.255.255:143 auth-plaintext", err_auth),
	BAD("imap 0.0.0.0:143 auth-plaintext", err_auth),
	BAD("imap *:143 auth-plaintext", err_auth),
	BAD("imap [::2]:143 auth-plaintext", err_auth),
	BAD("imap [::]:143 auth-plaintext", err_auth),
	BAD("imap [::ffff:10.0.0.1]:143 auth-plaintext", err_auth),
	BAD("imap [::1]:143 auth-plaintext=yes",
	    "auth-plaintext takes no value"),
	OK("mx *:25 bare-lf=reject", "mx *:25"),
	OK("mx *:25 bare-lf=normalise", "mx *:25 bare-lf=normalise"),
	OK("submission *:587 bare-lf=normalise", "submission *:587"),
	OK("submission *:587 bare-lf=reject",
	    "submission *:587 bare-lf=reject"),
	OK("local /s bare-lf=reject", "local /s bare-lf=reject"),
	BAD("mx *:25 bare-lf=normalize",
	    "bare-lf= must be reject or normalise"),
	BAD("mx *:25 bare-lf=", "bare-lf= must be reject or normalise"),
	BAD("imap *:143 bare-lf=reject",
	    "bare-lf= applies only to SMTP listeners"),
	OK("mx *:25 backlog=16", "mx *:25 backlog=16"),
	OK("mx *:25 backlog=65535", "mx *:25 backlog=65535"),
	OK("mx *:25 backlog=511", "mx *:25"),
	BAD("mx *:25 backlog=15", err_backlog),
	BAD("mx *:25 backlog=65536", err_backlog),
	BAD("mx *:25 backlog=-1", err_backlog),
	BAD("mx *:25 backlog=1e3", err_backlog),
	BAD("mx *:25 backlog=", err_backlog),
	BAD("mx *:25 backlog=20 backlog=30", "option given twice"),
	OK("local /s mode=0600", "local /s mode=0600"),
	OK("local /s mode=600", "local /s mode=0600"),
	OK("local /s mode=0660", "local /s"),
	OK("local /s mode=0", "local /s mode=0000"),
	OK("local /s mode=0777", "local /s mode=0777"),
	BAD("local /s mode=0778", err_mode),
	BAD("local /s mode=1777", err_mode),
	BAD("local /s mode=00660", err_mode),
	BAD("local /s mode=rw", err_mode),
	BAD("local /s mode=", err_mode),
	BAD("mx *:25 mode=0660", "mode= applies only to unix sockets"),
	BAD("mx *:25 frobnicate", err_option),
	BAD("mx *:25 =x", err_option),
	BAD("mx *:25 Name=x", err_option),
	OK("submission [::1]:587 name=sub auth-plaintext bare-lf=reject "
	    "backlog=64", "submission [::1]:587 name=sub auth-plaintext "
	    "bare-lf=reject backlog=64"),
};

Test(listener, cases)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct spec_case *c = &cases[i];
		struct listener l, back;
		const char *err = NULL;
		char *s;
		int rc;

		memset(&l, 0xa5, sizeof(l));
		rc = listener_parse(c->spec, strlen(c->spec), &l, &err);
		if (c->canonical == NULL) {
			cr_assert_eq(rc, -1, "case %zu \"%s\" parsed", i,
			    c->spec);
			cr_assert_str_eq(err, c->err, "case %zu \"%s\"", i,
			    c->spec);
			continue;
		}
		cr_assert_eq(rc, 0, "case %zu \"%s\": %s", i, c->spec, err);
		s = listener_format(&l);
		cr_assert_str_eq(s, c->canonical, "case %zu", i);
		cr_assert_eq(listener_parse(s, strlen(s), &back, &err), 0,
		    "case %zu \"%s\": %s", i, s, err);
		cr_assert(listener_equal(&l, &back), "case %zu", i);
		free(s);
		listener_clear(&back);
		listener_clear(&l);
	}
}

/* A spec cut anywhere never reads past its length. */
Test(listener, every_prefix)
{
	static const char spec[] = "submission [2001:db8::1]:587 name=s "
	    "backlog=100 bare-lf=reject";

	for (size_t n = 0; n <= sizeof(spec) - 1; n++) {
		char *copy = xstrndup(spec, n);	/* exact size for ASan */
		struct listener l;
		const char *err = NULL;

		if (listener_parse(copy, n, &l, &err) == 0)
			listener_clear(&l);
		else
			cr_assert_not_null(err);
		free(copy);
	}
}

Test(listener, fields_ipv4)
{
	struct listener l;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l.addr;
	const char *err = NULL;
	static const char spec[] = "mx 192.0.2.7:2525";

	cr_assert_eq(listener_parse(spec, sizeof(spec) - 1, &l, &err), 0);
	cr_assert_eq(l.role, LISTENER_MX);
	cr_assert_str_eq(l.name, "mx");
	cr_assert_eq(l.family, AF_INET);
	cr_assert_eq(l.port, 2525);
	cr_assert_eq(l.addr_len, sizeof(struct sockaddr_in));
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(sin->sin_port, htons(2525));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(0xc0000207));
	cr_assert_null(l.path);
	cr_assert_eq(l.flags, 0);
	cr_assert_eq(l.bare_lf, LISTENER_BARE_LF_REJECT);
	cr_assert_eq(l.backlog, LISTENER_BACKLOG_DEFAULT);
	cr_assert_eq(l.mode, 0);
	cr_assert(!listener_is_loopback(&l));
	listener_clear(&l);
	cr_assert_null(l.name);
	listener_clear(&l);
	listener_clear(NULL);
}

Test(listener, fields_ipv6)
{
	struct listener l;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&l.addr;
	const char *err = NULL;
	static const char spec[] = "imaps [::1]:993 name=imaps-lo";
	struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;

	cr_assert_eq(listener_parse(spec, sizeof(spec) - 1, &l, &err), 0);
	cr_assert_eq(l.family, AF_INET6);
	cr_assert_eq(l.addr_len, sizeof(struct sockaddr_in6));
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(sin6->sin6_port, htons(993));
	cr_assert(memcmp(&sin6->sin6_addr, &lo, sizeof(lo)) == 0);
	cr_assert_str_eq(l.name, "imaps-lo");
	cr_assert_eq(l.bare_lf, LISTENER_BARE_LF_NORMALISE);
	cr_assert(listener_is_loopback(&l));
	listener_clear(&l);
}

Test(listener, fields_unix_and_any)
{
	struct listener l;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&l.addr;
	const char *err = NULL;
	static const char spec[] = "local /run/sluice/smtp.sock";
	static const char any[] = "pop3 *:110";
	char *addr;

	cr_assert_eq(listener_parse(spec, sizeof(spec) - 1, &l, &err), 0);
	cr_assert_eq(l.family, AF_UNIX);
	cr_assert_str_eq(l.path, "/run/sluice/smtp.sock");
	cr_assert_eq(sun->sun_family, AF_UNIX);
	cr_assert_str_eq(sun->sun_path, "/run/sluice/smtp.sock");
	cr_assert_eq(l.addr_len, offsetof(struct sockaddr_un, sun_path) +
	    sizeof(spec) - sizeof("local ") + 1);
	cr_assert_eq(l.port, 0);
	cr_assert_eq(l.mode, LISTENER_MODE_DEFAULT);
	cr_assert_eq(l.bare_lf, LISTENER_BARE_LF_NORMALISE);
	addr = listener_address_format(&l);
	cr_assert_str_eq(addr, "/run/sluice/smtp.sock");
	free(addr);
	listener_clear(&l);

	cr_assert_eq(listener_parse(any, sizeof(any) - 1, &l, &err), 0);
	cr_assert_eq(l.family, AF_UNSPEC);
	cr_assert_eq(l.addr_len, 0);
	cr_assert_eq(l.port, 110);
	addr = listener_address_format(&l);
	cr_assert_str_eq(addr, "*:110");
	free(addr);
	listener_clear(&l);
}

Test(listener, unix_path_length)
{
	struct sockaddr_un sun;
	size_t max = sizeof(sun.sun_path) - 1;
	char *spec = xmalloc(max + 16);
	struct listener l;
	const char *err = NULL;
	size_t n;

	memcpy(spec, "local /", 7);
	n = 7;
	while (n < 6 + max)
		spec[n++] = 'a';
	cr_assert_eq(listener_parse(spec, n, &l, &err), 0, "%s", err);
	cr_assert_eq(strlen(l.path), max);
	listener_clear(&l);
	spec[n++] = 'a';
	cr_assert_eq(listener_parse(spec, n, &l, &err), -1);
	cr_assert_str_eq(err, "unix socket path is too long");
	free(spec);
}

Test(listener, same_address_and_lists)
{
	static const char *const specs[] = {
		"mx *:25", "submission *:25", "mx *:26", "mx 127.0.0.1:25",
		"imap 127.0.0.1:25", "mx [::1]:25", "local /a", "mx /a",
	};
	/* Which pairs (i, j) share an address. */
	static const int same[][2] = { { 0, 1 }, { 3, 4 }, { 6, 7 } };
	struct listener_list list = { NULL, 0 }, copy;
	const char *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct listener l;

		cr_assert_eq(listener_parse(specs[i], strlen(specs[i]), &l,
		    &err), 0);
		listener_list_append(&list, &l);
		cr_assert_null(l.name);
	}
	for (size_t i = 0; i < list.n; i++) {
		for (size_t j = 0; j < list.n; j++) {
			bool want = i == j;

			for (size_t k = 0; k < ARRAY_SIZE(same); k++)
				want |= (same[k][0] == (int)i &&
				    same[k][1] == (int)j) ||
				    (same[k][0] == (int)j &&
				    same[k][1] == (int)i);
			cr_assert_eq(listener_same_address(&list.v[i],
			    &list.v[j]), want, "%zu %zu", i, j);
			cr_assert_eq(listener_equal(&list.v[i], &list.v[j]),
			    i == j, "%zu %zu", i, j);
		}
	}
	listener_list_copy(&copy, &list);
	cr_assert(listener_list_equal(&copy, &list));
	cr_assert_neq(copy.v[0].name, list.v[0].name);
	listener_clear(&copy.v[copy.n - 1]);
	copy.n--;
	cr_assert(!listener_list_equal(&copy, &list));
	listener_list_clear(&copy);
	listener_list_clear(&list);
	cr_assert_eq(list.n, 0);
	cr_assert_null(list.v);
	listener_list_clear(NULL);
}

Test(listener, roles)
{
	static const char *const names[] = {
		"mx", "submission", "submissions", "local", "imap", "imaps",
		"pop3", "pop3s",
	};
	enum listener_role role;

	cr_assert_eq(ARRAY_SIZE(names), LISTENER_ROLE_COUNT);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		cr_assert_str_eq(listener_role_name((enum listener_role)i),
		    names[i]);
		cr_assert_eq(listener_role_from_name(names[i],
		    strlen(names[i]), &role), 0);
		cr_assert_eq(role, (enum listener_role)i);
		cr_assert_eq(listener_role_is_smtp(role), i < 4);
	}
	cr_assert_str_eq(listener_role_name(LISTENER_ROLE_COUNT), "unknown");
	cr_assert_eq(listener_role_from_name("pop", 3, &role), -1);
	cr_assert_eq(listener_role_from_name("pop3s", 4, &role), 0);
	cr_assert_eq(role, LISTENER_POP3);
	cr_assert_eq(listener_role_from_name("", 0, &role), -1);
	cr_assert(listener_role_is_implicit_tls(LISTENER_SUBMISSIONS));
	cr_assert(listener_role_is_implicit_tls(LISTENER_IMAPS));
	cr_assert(listener_role_is_implicit_tls(LISTENER_POP3S));
	cr_assert(!listener_role_is_implicit_tls(LISTENER_SUBMISSION));
	cr_assert(!listener_role_is_implicit_tls(LISTENER_MX));
}
