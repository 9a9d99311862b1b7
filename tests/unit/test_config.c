/* Tests for config: every value type at its edges, the file syntax, error
 * texts with file and line, atomic parsing, and printing that parses back
 * to an equal configuration. */
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

struct value_case {
	const char	*text;
	const char	*out;	/* config_print(all=false) after; NULL: error */
	const char	*err;	/* a substring of the error */
};

#define OK(t, o)	{ (t), (o), NULL }
#define BAD(t, e)	{ (t), NULL, (e) }

static const struct value_case value_cases[] = {
	/* sizes */
	OK("message_size_limit = 64K", "message_size_limit = 64K\n"),
	OK("message_size_limit = 65536", "message_size_limit = 64K\n"),
	BAD("message_size_limit = 65535",
	    "t.conf:1: message_size_limit: \"65535\" is out of range (64K..512M)"),
	OK("message_size_limit = 512M", "message_size_limit = 512M\n"),
	OK("message_size_limit = 524288K", "message_size_limit = 512M\n"),
	OK("message_size_limit = 536870912", "message_size_limit = 512M\n"),
	BAD("message_size_limit = 536870913", "is out of range (64K..512M)"),
	BAD("message_size_limit = 1G", "is out of range (64K..512M)"),
	OK("message_size_limit = 25m", ""),
	OK("message_size_limit = 10m", "message_size_limit = 10M\n"),
	OK("message_size_limit = 1500k", "message_size_limit = 1500K\n"),
	OK("message_size_limit = 0064K", "message_size_limit = 64K\n"),
	BAD("message_size_limit = 99999999999999999999G",
	    "\"99999999999999999999G\" is too large"),
	BAD("message_size_limit = 18446744073709551615",
	    "is out of range"),
	BAD("message_size_limit = 18446744073709551616", "is too large"),
	BAD("message_size_limit = 17179869184G", "is too large"),
	BAD("message_size_limit = 17179869183G", "is out of range"),
	BAD("message_size_limit = 25Q", "t.conf:1: message_size_limit: "
	    "\"25Q\" is not a size (use a number with K, M or G)"),
	BAD("message_size_limit = 25KB", "is not a size"),
	BAD("message_size_limit = 25T", "is not a size"),
	BAD("message_size_limit = 25 M", "\"25 M\" is not a size"),
	BAD("message_size_limit = -1", "is not a size"),
	BAD("message_size_limit = +1K", "is not a size"),
	BAD("message_size_limit = M", "is not a size"),
	BAD("message_size_limit = 0x400", "is not a size"),
	BAD("message_size_limit = 1.5M", "is not a size"),
	BAD("message_size_limit =", "message_size_limit: \"\" is not a size"),
	OK("smtp_memory_body_limit = 0", "smtp_memory_body_limit = 0\n"),
	OK("smtp_memory_body_limit = 1025", "smtp_memory_body_limit = 1025\n"),
	OK("smtp_memory_body_limit = 1G", "smtp_memory_body_limit = 1G\n"),
	BAD("smtp_memory_body_limit = 1025M", "is out of range (0..1G)"),

	/* integers */
	OK("smtp_workers = 64", "smtp_workers = 64\n"),
	OK("smtp_workers = 0", ""),
	OK("smtp_workers = 00064", "smtp_workers = 64\n"),
	BAD("smtp_workers = 65",
	    "t.conf:1: smtp_workers: \"65\" is out of range (0..64)"),
	BAD("smtp_workers = -1", "\"-1\" is out of range (0..64)"),
	BAD("smtp_workers = +1", "\"+1\" is not a number"),
	BAD("smtp_workers = -", "\"-\" is not a number"),
	BAD("smtp_workers = 1.5", "is not a number"),
	BAD("smtp_workers = 1K", "is not a number"),
	BAD("smtp_workers = 4294967297", "is out of range"),
	BAD("smtp_workers = 99999999999999999999999", "is out of range"),
	BAD("smtp_workers =", "smtp_workers: \"\" is not a number"),
	OK("mbox_workers = 64", "mbox_workers = 64\n"),
	BAD("mbox_workers = 65", "is out of range (0..64)"),
	BAD("smtp_max_recipients = 0", "is out of range (100..100000)"),
	BAD("smtp_max_recipients = 99", "is out of range (100..100000)"),
	OK("smtp_max_recipients = 100", "smtp_max_recipients = 100\n"),
	OK("smtp_max_recipients = 100000", "smtp_max_recipients = 100000\n"),
	BAD("smtp_max_recipients = 100001", "is out of range (100..100000)"),
	OK("smtp_max_errors = 1000", "smtp_max_errors = 1000\n"),
	BAD("smtp_max_errors = 1001", "is out of range (1..1000)"),
	OK("smtp_max_received = 1000", "smtp_max_received = 1000\n"),
	BAD("smtp_max_received = 99", "is out of range (100..1000)"),
	OK("smtp_max_connections = 1000000",
	    "smtp_max_connections = 1000000\n"),
	BAD("smtp_max_connections = 1000001", "is out of range"),
	OK("smtp_max_connections_per_ip = 1",
	    "smtp_max_connections_per_ip = 1\n"),
	BAD("smtp_max_connections_per_ip = 0", "is out of range"),
	OK("auth_max_failures = 10000", "auth_max_failures = 10000\n"),
	BAD("auth_max_failures = 0", "is out of range (1..10000)"),
	OK("password_cost = 11", "password_cost = 11\n"),
	BAD("password_cost = 12", "t.conf:1: password_cost for yescrypt must "
	    "be 1 to 11, or 0"),
	OK("password_scheme = bcrypt\npassword_cost = 31",
	    "password_scheme = bcrypt\npassword_cost = 31\n"),
	OK("password_cost = 4\npassword_scheme = bcrypt",
	    "password_scheme = bcrypt\npassword_cost = 4\n"),
	BAD("password_scheme = bcrypt\npassword_cost = 32", "t.conf:2: "
	    "password_cost for bcrypt must be 4 to 31, or 0"),
	BAD("password_cost = 3\n\npassword_scheme = bcrypt", "t.conf:3: "
	    "password_cost for bcrypt must be 4 to 31, or 0"),
	OK("password_scheme = sha512crypt\npassword_cost = 999999999",
	    "password_scheme = sha512crypt\npassword_cost = 999999999\n"),
	BAD("password_scheme = sha256crypt\npassword_cost = 999",
	    "t.conf:2: password_cost for sha256crypt must be 1000"),
	BAD("password_cost = 1000000000", "is out of range (0..999999999)"),

	/* durations */
	OK("smtp_command_timeout = 1h", "smtp_command_timeout = 1h\n"),
	OK("smtp_command_timeout = 3600", "smtp_command_timeout = 1h\n"),
	OK("smtp_command_timeout = 60m", "smtp_command_timeout = 1h\n"),
	BAD("smtp_command_timeout = 3601", "t.conf:1: smtp_command_timeout: "
	    "\"3601\" is out of range (1s..1h)"),
	BAD("smtp_command_timeout = 61m", "is out of range (1s..1h)"),
	OK("smtp_command_timeout = 1s", "smtp_command_timeout = 1s\n"),
	OK("smtp_command_timeout = 1", "smtp_command_timeout = 1s\n"),
	OK("smtp_command_timeout = 90", "smtp_command_timeout = 90s\n"),
	OK("smtp_command_timeout = 300s", ""),
	BAD("smtp_command_timeout = 0", "is out of range (1s..1h)"),
	BAD("smtp_command_timeout = 5M", "\"5M\" is not a duration "
	    "(use a number with s, m, h, d or w)"),
	BAD("smtp_command_timeout = 5x", "is not a duration"),
	BAD("smtp_command_timeout = 1h30m", "is not a duration"),
	BAD("smtp_command_timeout = -5m", "is not a duration"),
	BAD("smtp_command_timeout = m", "is not a duration"),
	BAD("smtp_command_timeout =", "is not a duration"),
	OK("smtp_data_timeout = 1h", "smtp_data_timeout = 1h\n"),
	BAD("smtp_data_timeout = 2h", "is out of range (1s..1h)"),
	OK("queue_lifetime = 2w", "queue_lifetime = 2w\n"),
	OK("queue_lifetime = 14d", "queue_lifetime = 2w\n"),
	OK("queue_lifetime = 90d", "queue_lifetime = 90d\n"),
	BAD("queue_lifetime = 91d", "is out of range (1m..90d)"),
	BAD("queue_lifetime = 59s", "is out of range (1m..90d)"),
	BAD("queue_lifetime = 99999999999999999999w", "is too large"),
	BAD("queue_lifetime = 30500568904944w", "is too large"),
	BAD("queue_lifetime = 30500568904943w", "is out of range"),
	BAD("queue_lifetime = 18446744073709551616", "is too large"),
	OK("queue_lifetime = 1m\ndelay_warning = 0",
	    "queue_lifetime = 1m\ndelay_warning = 0\n"),
	OK("delay_warning = 0", "delay_warning = 0\n"),
	OK("auth_failure_window = 1d", "auth_failure_window = 1d\n"),
	BAD("auth_failure_window = 25h", "is out of range (1s..1d)"),
	OK("retry_max = 1w", "retry_max = 1w\n"),
	BAD("retry_max = 8d", "is out of range (1s..1w)"),

	/* booleans */
	OK("submission_hide_client = yes", "submission_hide_client = yes\n"),
	OK("submission_hide_client = YES", "submission_hide_client = yes\n"),
	OK("submission_hide_client = On", "submission_hide_client = yes\n"),
	OK("submission_hide_client = true", "submission_hide_client = yes\n"),
	OK("submission_hide_client = 1", "submission_hide_client = yes\n"),
	OK("submission_hide_client = no", ""),
	OK("submission_hide_client = off", ""),
	OK("submission_hide_client = FALSE", ""),
	OK("submission_hide_client = 0", ""),
	BAD("submission_hide_client = maybe", "t.conf:1: "
	    "submission_hide_client: \"maybe\" is not a boolean "
	    "(use yes or no)"),
	BAD("submission_hide_client = 2", "is not a boolean"),
	BAD("submission_hide_client = yes please", "is not a boolean"),
	BAD("submission_hide_client = ye", "is not a boolean"),
	BAD("submission_hide_client =", "is not a boolean"),

	/* enums */
	OK("log_level = debug", "log_level = debug\n"),
	OK("log_level = DEBUG", "log_level = debug\n"),
	OK("log_level = info", ""),
	OK("log_level = error", "log_level = error\n"),
	BAD("log_level = verbose", "t.conf:1: log_level: \"verbose\" is not "
	    "one of debug, info, notice, warning, error"),
	BAD("log_level = debu", "is not one of"),
	BAD("log_level =", "log_level: \"\" is not one of"),
	OK("log = stderr", "log = stderr\n"),
	BAD("log = file", "is not one of syslog, stderr"),
	OK("tls_min_version = tlsv1.3", "tls_min_version = TLSv1.3\n"),
	BAD("tls_min_version = TLSv1.1", "is not one of TLSv1.2, TLSv1.3"),
	OK("password_scheme = sha256crypt", "password_scheme = sha256crypt\n"),
	BAD("password_scheme = md5crypt", "is not one of yescrypt"),

	/* strings */
	OK("hostname = mail.example.com", "hostname = mail.example.com\n"),
	OK("hostname = mx-1.example", "hostname = mx-1.example\n"),
	OK("hostname = localhost", "hostname = localhost\n"),
	OK("hostname = \"\"", ""),
	OK("hostname =", ""),
	BAD("hostname = -mx.example", "\"-mx.example\" is not a host name"),
	BAD("hostname = mx-.example", "is not a host name"),
	BAD("hostname = a..b", "is not a host name"),
	BAD("hostname = example.org.", "is not a host name"),
	BAD("hostname = .example.org", "is not a host name"),
	BAD("hostname = under_score.example", "is not a host name"),
	BAD("hostname = \"mail example\"", "is not a host name"),
	OK("user = mail", "user = mail\n"),
	OK("group = _sluice", "group = _sluice\n"),
	BAD("user = \"\"", "t.conf:1: user: \"\" must not be empty"),
	BAD("user =", "user: \"\" must not be empty"),
	BAD("user = \"bad user\"", "is not a user or group name"),
	BAD("group = -x", "is not a user or group name"),
	BAD("user = abcdefghijklmnopqrstuvwxyz0123456",
	    "is too long (at most 32 bytes)"),
	OK("user = abcdefghijklmnopqrstuvwxyz012345",
	    "user = abcdefghijklmnopqrstuvwxyz012345\n"),
	OK("recipient_delimiter = +", "recipient_delimiter = +\n"),
	OK("recipient_delimiter = -", "recipient_delimiter = -\n"),
	OK("recipient_delimiter = _", "recipient_delimiter = _\n"),
	OK("recipient_delimiter = =", "recipient_delimiter = =\n"),
	OK("recipient_delimiter = \"\"", ""),
	BAD("recipient_delimiter = ++", "must be empty or one of + - _ ="),
	BAD("recipient_delimiter = x", "must be empty or one of + - _ ="),
	BAD("recipient_delimiter = \"#\"", "must be empty or one of"),
	OK("mailbox_sent = Lists/Sent", "mailbox_sent = Lists/Sent\n"),
	OK("mailbox_junk = \"\"", "mailbox_junk = \"\"\n"),
	BAD("mailbox_sent = inbox", "is not a mailbox name"),
	BAD("mailbox_sent = /Sent", "is not a mailbox name"),
	BAD("mailbox_trash = a//b", "is not a mailbox name"),
	BAD("mailbox_trash = \"a*\"", "is not a mailbox name"),
	BAD("mailbox_trash = \"50%\"", "is not a mailbox name"),
	OK("postmaster = root@example.org", "postmaster = root@example.org\n"),
	OK("postmaster = hostmaster", "postmaster = hostmaster\n"),
	BAD("postmaster = \"a b\"", "is not a local part or address"),
	BAD("postmaster = @example.org", "is not a local part or address"),
	BAD("postmaster = root@", "is not a local part or address"),
	BAD("postmaster = a@b@c", "is not a local part or address"),
	BAD("postmaster = <root>", "is not a local part or address"),
	BAD("postmaster =", "must not be empty"),

	/* paths, quoting and comments */
	OK("state_dir = /srv/sluice", "state_dir = /srv/sluice\n"),
	BAD("state_dir = srv/sluice",
	    "state_dir: \"srv/sluice\" is not an absolute path"),
	BAD("state_dir = \"\"", "state_dir: \"\" must not be empty"),
	OK("policy_file = \"/etc/a#b\"", "policy_file = \"/etc/a#b\"\n"),
	OK("policy_file = /etc/a#b", "policy_file = \"/etc/a#b\"\n"),
	OK("policy_file = /etc/a #b", "policy_file = /etc/a\n"),
	OK("policy_file = /etc/a\t#b", "policy_file = /etc/a\n"),
	OK("policy_file = /etc/a b  # c", "policy_file = /etc/a b\n"),
	OK("policy_file = \"/x \\\"q\\\" \\\\ y\"",
	    "policy_file = \"/x \\\"q\\\" \\\\ y\"\n"),
	OK("policy_file = \"/x \" # comment", "policy_file = \"/x \"\n"),
	OK("policy_file = \"/x\"# comment", "policy_file = /x\n"),
	BAD("policy_file = \"/x\"junk",
	    "t.conf:1: text after the closing quote"),
	BAD("policy_file = \"/x", "t.conf:1: quoted value has no closing "
	    "quote"),
	BAD("policy_file = \"/x\\\"", "quoted value has no closing quote"),
	BAD("policy_file = \"/x\\n\"", "t.conf:1: unknown escape in quoted "
	    "value"),
	BAD("policy_file = \"/x\\", "unknown escape in quoted value"),
	OK("hostname = #comment", ""),

	/* line syntax */
	BAD("mesage_size_limit = 1",
	    "t.conf:1: unknown key \"mesage_size_limit\""),
	BAD("\n\n# c\nbogus = 1", "t.conf:4: unknown key \"bogus\""),
	BAD("Message_Size_Limit = 1M", "unknown key \"Message_Size_Limit\""),
	BAD("message_size_limit", "t.conf:1: expected \"key = value\""),
	BAD("message_size_limit 25M", "t.conf:1: expected \"key = value\""),
	BAD("= 5", "t.conf:1: expected \"key = value\""),
	BAD("message-size-limit = 1", "unknown key \"message-size-limit\""),
	OK("\tmessage_size_limit\t=\t10M\t", "message_size_limit = 10M\n"),
	OK("   message_size_limit=10M   # why", "message_size_limit = 10M\n"),
	BAD("message_size_limit = 10M#x", "\"10M#x\" is not a size"),
	OK("", ""),
	OK("\n\n\n", ""),
	OK("# just a comment", ""),
	OK("   \t# indented comment\n  \t \n", ""),
	OK("message_size_limit = 10M\r\n", "message_size_limit = 10M\n"),
	OK("message_size_limit = 10M\r\nsmtp_workers = 2\r\n",
	    "smtp_workers = 2\nmessage_size_limit = 10M\n"),
	OK("message_size_limit = 10M", "message_size_limit = 10M\n"),
	OK("message_size_limit = 10M\r", "message_size_limit = 10M\n"),
	BAD("smtp_workers = 1\rsmtp_workers = 2",
	    "t.conf:1: control character 0x0d in line"),
	BAD("\nhostname = a\x01" "b", "t.conf:2: control character 0x01"),
	BAD("hostname = a\x7f", "t.conf:1: control character 0x7f"),
	BAD("message_size_limit = 1M\nmessage_size_limit = 2M",
	    "t.conf:2: duplicate key \"message_size_limit\" (first set on "
	    "line 1)"),
	BAD("hostname = \"\"\n\nhostname = \"\"",
	    "t.conf:3: duplicate key \"hostname\" (first set on line 1)"),

	/* rules between keys */
	BAD("retry_min = 2h",
	    "t.conf:1: retry_min must not be longer than retry_max"),
	BAD("smtp_workers = 1\nretry_max = 1m\n\nmbox_workers = 1",
	    "t.conf:2: retry_min must not be longer than retry_max"),
	OK("retry_min = 2h\nretry_max = 2h",
	    "retry_min = 2h\nretry_max = 2h\n"),
	BAD("delay_warning = 5d", "t.conf:1: delay_warning must be shorter "
	    "than queue_lifetime, or 0"),
	BAD("queue_lifetime = 4h", "t.conf:1: delay_warning must be shorter"),
	OK("queue_lifetime = 4h\ndelay_warning = 0",
	    "queue_lifetime = 4h\ndelay_warning = 0\n"),

	/* listen */
	OK("listen = mx 127.0.0.1:2525", "listen = mx 127.0.0.1:2525\n"),
	OK("listen = mx 127.0.0.1:2525\n"
	    "listen = submission [::1]:587 auth-plaintext",
	    "listen = mx 127.0.0.1:2525\n"
	    "listen = submission [::1]:587 auth-plaintext\n"),
	OK("listen = \"\"", "listen = \"\"\n"),
	OK("listen =", "listen = \"\"\n"),
	OK("listen = mx *:25 # inbound", "listen = mx *:25\n"),
	OK("listen = mx *:25\nlisten =\nlisten = imap *:143",
	    "listen = imap *:143\n"),
	OK("listen = \"local /run/a#b.sock\"",
	    "listen = \"local /run/a#b.sock\"\n"),
	OK("listen = local /run/a#b.sock",
	    "listen = \"local /run/a#b.sock\"\n"),
	BAD("listen = local \"/run/a.sock\"",
	    "listen: \"local \\\"/run/a.sock\\\"\": unix socket path must be "
	    "absolute"),
	BAD("listen = mx *:25\nlisten = submission *:25",
	    "t.conf:2: listen: *:25 is already used by \"mx\""),
	BAD("listen = mx ::1:25", "t.conf:1: listen: \"mx ::1:25\": IPv6 "
	    "addresses need brackets, as in [::1]:25"),
	BAD("listen = mx 192.0.2.1:25 auth-plaintext",
	    "auth-plaintext is allowed only on loopback"),
	BAD("listen = smtp *:25", "listen: \"smtp *:25\": unknown role"),
	BAD("listen = mx *:0", "port must be a number from 1 to 65535"),
	BAD("listen = mx *:65536", "port must be a number from 1 to 65535"),
	BAD("listen = mx *:25 colour=blue", "unknown option"),

	/* relay */
	OK("relay = isp smtp.isp.example", "relay = isp smtp.isp.example\n"),
	OK("relay = ISP Smtp.ISP.example:587 tls=starttls policy=verify",
	    "relay = isp smtp.isp.example\n"),
	OK("relay = isp smtp.isp.example:465",
	    "relay = isp smtp.isp.example:465\n"),
	OK("relay = isp smtp.isp.example tls=implicit auth=/etc/sluice/isp "
	    "policy=dane", "relay = isp smtp.isp.example tls=implicit "
	    "auth=/etc/sluice/isp policy=dane\n"),
	OK("relay = a 192.0.2.1:2525\nrelay = b [2001:DB8::1]",
	    "relay = a 192.0.2.1:2525\nrelay = b [2001:db8::1]\n"),
	OK("relay = a h.example\nrelay =\nrelay = b i.example",
	    "relay = b i.example\n"),
	OK("relay = a h.example\nrelay = \"\"", ""),
	OK("relay = isp h.example auth=/etc/a#b",
	    "relay = \"isp h.example auth=/etc/a#b\"\n"),
	BAD("relay = isp", "t.conf:1: relay: \"isp\": missing host after name"),
	BAD("relay = isp h.example\nrelay = ISP i.example",
	    "t.conf:2: relay: the name \"isp\" is already used"),
	BAD("relay = -isp h.example", "t.conf:1: relay: \"-isp h.example\": "
	    "name must be 1 to 64 letters"),
	BAD("relay = isp h.example:0", "port must be a number from 1 to 65535"),
	BAD("relay = isp 2001:db8::1", "IPv6 addresses need brackets"),
	BAD("relay = isp h_1.example", "host is not a host name or an IP"),
	BAD("relay = isp h.example tls=none",
	    "tls= must be starttls or implicit"),
	BAD("relay = isp h.example policy=may",
	    "policy= must be encrypt, verify or dane"),
	BAD("relay = isp h.example auth=isp.auth",
	    "auth= must be an absolute path"),
	BAD("relay = isp h.example user=me", "unknown option (expected tls=, "
	    "auth= or policy=)"),

	/* routes */
	OK("relay = isp h.example\nrelay_default = isp",
	    "relay = isp h.example\nrelay_default = isp\n"),
	OK("relay_default = ISP\nrelay = isp h.example",
	    "relay = isp h.example\nrelay_default = ISP\n"),
	OK("relay_default = \"\"", ""),
	BAD("relay_default = isp", "t.conf:1: relay_default: \"isp\" is not a "
	    "configured relay"),
	BAD("relay_default = isp\n\nrelay = other h.example", "t.conf:3: "
	    "relay_default: \"isp\" is not a configured relay"),
	BAD("relay = isp h.example\nrelay_default = isp\nrelay =",
	    "t.conf:3: relay_default: \"isp\" is not a configured relay"),
	BAD("relay_default = -isp", "t.conf:1: relay_default: \"-isp\" is not "
	    "a relay name"),
	OK("relay = a h.example\nrelay = b i.example\n"
	    "relay_domains = example.org=a, Example.NET=B",
	    "relay = a h.example\nrelay = b i.example\n"
	    "relay_domains = example.org=a, Example.NET=B\n"),
	OK("relay = a h.example\nrelay_domains = x.example=a\n"
	    "relay_domains = y.example=a", "relay = a h.example\n"
	    "relay_domains = x.example=a, y.example=a\n"),
	OK("relay_domains = \"\"", ""),
	BAD("relay_domains = example.org=isp", "t.conf:1: relay_domains: "
	    "\"example.org=isp\" names no configured relay"),
	BAD("relay = a h.example\nrelay_domains = a.example=a b.example=a "
	    "a.example=a", "t.conf:2: relay_domains: a.example is listed "
	    "twice"),
	BAD("relay_domains = example.org", "t.conf:1: relay_domains: "
	    "\"example.org\" is not DOMAIN=NAME (a domain and a relay name)"),
	BAD("relay_domains = a.example=a b.example=", "relay_domains: "
	    "\"b.example=\" is not DOMAIN=NAME"),
	BAD("relay_domains = =isp", "is not DOMAIN=NAME"),
	BAD("relay_domains = 192.0.2.1=isp", "is not DOMAIN=NAME"),
	BAD("relay_domains = example.org.=isp", "is not DOMAIN=NAME"),
	BAD("relay_domains = a.example=a,,b.example=a", "is not a list"),

	/* TLS towards other servers */
	OK("smtp_tls_policy = dane", "smtp_tls_policy = dane\n"),
	OK("smtp_tls_policy = NONE", "smtp_tls_policy = none\n"),
	OK("smtp_tls_policy = may", ""),
	BAD("smtp_tls_policy = secure", "t.conf:1: smtp_tls_policy: \"secure\" "
	    "is not one of none, may, encrypt, verify, dane"),
	OK("smtp_tls_policies = a.example=dane b.example=Verify",
	    "smtp_tls_policies = a.example=dane, b.example=Verify\n"),
	OK("smtp_tls_policies = a.example=none\nsmtp_tls_policies = "
	    "b.example=encrypt", "smtp_tls_policies = a.example=none, "
	    "b.example=encrypt\n"),
	BAD("smtp_tls_policies = a.example=secure", "t.conf:1: "
	    "smtp_tls_policies: \"a.example=secure\" is not DOMAIN=POLICY "
	    "(POLICY: none, may, encrypt, verify or dane)"),
	BAD("smtp_tls_policies = a.example", "is not DOMAIN=POLICY"),
	BAD("smtp_tls_policies = a_b.example=may", "is not DOMAIN=POLICY"),
	BAD("smtp_tls_policies = a.example=may\n\n"
	    "smtp_tls_policies = a.example=none", "t.conf:3: "
	    "smtp_tls_policies: a.example is listed twice"),
	OK("smtp_client_ca_file = /etc/ssl/ca.pem",
	    "smtp_client_ca_file = /etc/ssl/ca.pem\n"),
	OK("smtp_client_ca_file =", ""),
	BAD("smtp_client_ca_file = ca.pem", "t.conf:1: smtp_client_ca_file: "
	    "\"ca.pem\" is not an absolute path"),

	/* the SMTP client */
	OK("remote_port = 2525", "remote_port = 2525\n"),
	OK("remote_port = 65535", "remote_port = 65535\n"),
	OK("remote_port = 25", ""),
	BAD("remote_port = 0", "t.conf:1: remote_port: \"0\" is out of range "
	    "(1..65535)"),
	BAD("remote_port = 65536", "is out of range (1..65535)"),
	OK("smtp_client_connect_timeout = 1",
	    "smtp_client_connect_timeout = 1s\n"),
	BAD("smtp_client_connect_timeout = 0", "is out of range (1s..1h)"),
	OK("smtp_client_greeting_timeout = 1h",
	    "smtp_client_greeting_timeout = 1h\n"),
	BAD("smtp_client_greeting_timeout = 61m", "is out of range (1s..1h)"),
	OK("smtp_client_command_timeout = 2m",
	    "smtp_client_command_timeout = 2m\n"),
	OK("smtp_client_command_timeout = 5",
	    "smtp_client_command_timeout = 5s\n"),
	OK("smtp_client_data_timeout = 600", ""),
	BAD("smtp_client_data_timeout = 2h", "is out of range (1s..1h)"),
	OK("smtp_client_max_connections = 10000",
	    "smtp_client_max_connections = 10000\n"),
	BAD("smtp_client_max_connections = 10001", "is out of range "
	    "(1..10000)"),
	OK("smtp_client_max_per_destination = 100",
	    "smtp_client_max_per_destination = 100\n"),
	BAD("smtp_client_max_per_destination = 0", "is out of range "
	    "(1..1000)"),
	BAD("smtp_client_max_per_destination = 1001", "is out of range"),
	BAD("smtp_client_max_connections = 9", "t.conf:1: "
	    "smtp_client_max_per_destination must not be more than "
	    "smtp_client_max_connections"),
	OK("smtp_client_max_connections = 1\n"
	    "smtp_client_max_per_destination = 1",
	    "smtp_client_max_connections = 1\n"
	    "smtp_client_max_per_destination = 1\n"),
	OK("smtp_client_reuse_time = 0", "smtp_client_reuse_time = 0\n"),
	OK("smtp_client_reuse_time = 10m", "smtp_client_reuse_time = 10m\n"),
	BAD("smtp_client_reuse_time = 601", "is out of range (0..10m)"),

	/* DNS */
	OK("dns_trust_anchor = /var/lib/unbound/root.key",
	    "dns_trust_anchor = /var/lib/unbound/root.key\n"),
	BAD("dns_trust_anchor =", "dns_trust_anchor: \"\" must not be empty"),
	OK("dns_root_hints = /etc/sluice/root.hints",
	    "dns_root_hints = /etc/sluice/root.hints\n"),
	OK("dns_root_hints = \"\"", ""),
	BAD("dns_root_hints = root.hints", "is not an absolute path"),
	OK("dns_forwarders = 127.0.0.53, ::1@5353 192.0.2.1@053",
	    "dns_forwarders = 127.0.0.53, ::1@5353, 192.0.2.1@053\n"),
	BAD("dns_forwarders = [::1]", "t.conf:1: dns_forwarders: \"[::1]\" "
	    "is not ADDRESS[@PORT] (an IPv4 or IPv6 address, no brackets; "
	    "port 1 to 65535)"),
	BAD("dns_forwarders = ns.example", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = 127.0.0.1@0", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = 127.0.0.1@65536", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = 127.0.0.1@", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = 127.0.0.1@53@53", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = 127.0.0.1:53", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = fe80::1%eth0", "is not ADDRESS[@PORT]"),
	BAD("dns_forwarders = @53", "is not ADDRESS[@PORT]"),
	OK("dns_stub_zones = .=127.0.0.1@5300 test=127.0.0.2",
	    "dns_stub_zones = .=127.0.0.1@5300, test=127.0.0.2\n"),
	OK("dns_stub_zones = example=::1, example=127.0.0.1",
	    "dns_stub_zones = example=::1, example=127.0.0.1\n"),
	BAD("dns_stub_zones = 127.0.0.1", "t.conf:1: dns_stub_zones: "
	    "\"127.0.0.1\" is not ZONE=ADDRESS[@PORT] (ZONE: \".\" or a "
	    "domain; ADDRESS: IPv4 or IPv6)"),
	BAD("dns_stub_zones = example.=127.0.0.1", "is not ZONE=ADDRESS"),
	BAD("dns_stub_zones = ..=127.0.0.1", "is not ZONE=ADDRESS"),
	BAD("dns_stub_zones = =127.0.0.1", "is not ZONE=ADDRESS"),
	BAD("dns_stub_zones = example=ns.example", "is not ZONE=ADDRESS"),
	BAD("dns_stub_zones = example=127.0.0.1@99999", "is not ZONE=ADDRESS"),
	OK("dns_resolv_conf = yes", "dns_resolv_conf = yes\n"),
	OK("dns_resolv_conf = yes\ndns_forwarders = 127.0.0.1",
	    "dns_forwarders = 127.0.0.1\ndns_resolv_conf = yes\n"),
	OK("dns_timeout = 10m", "dns_timeout = 10m\n"),
	OK("dns_timeout = 1", "dns_timeout = 1s\n"),
	BAD("dns_timeout = 0", "is out of range (1s..10m)"),
	BAD("dns_timeout = 601", "is out of range (1s..10m)"),
};

static char *
print_to_string(const struct config *cfg, bool all)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	cr_assert_not_null(f);
	config_print(cfg, f, all);
	fclose(f);
	return s;
}

static int
parse_str(struct config *cfg, const char *text, const char **error_r)
{
	return config_parse(cfg, "t.conf", text, strlen(text), error_r);
}

/* print(all) parses back, on top of the defaults, to an equal config. */
static void
assert_round_trip(const struct config *cfg, bool all)
{
	struct config back;
	const char *err = NULL;
	char *text = print_to_string(cfg, all);

	config_init(&back);
	cr_assert_eq(parse_str(&back, text, &err), 0, "%s\n%s", text, err);
	cr_assert(config_equal(cfg, &back), "round trip differs:\n%s", text);
	free(text);
	config_free(&back);
}

Test(config, value_cases)
{
	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]);
	    i++) {
		const struct value_case *c = &value_cases[i];
		struct config cfg, def;
		const char *err = NULL;
		int rc;

		config_init(&cfg);
		config_init(&def);
		rc = parse_str(&cfg, c->text, &err);
		if (c->out != NULL) {
			char *out;

			cr_assert_eq(rc, 0, "case %zu \"%s\": %s", i, c->text,
			    err);
			out = print_to_string(&cfg, false);
			cr_assert_str_eq(out, c->out, "case %zu \"%s\"", i,
			    c->text);
			free(out);
			assert_round_trip(&cfg, true);
			assert_round_trip(&cfg, false);
		} else {
			cr_assert_eq(rc, -1, "case %zu \"%s\" parsed", i,
			    c->text);
			cr_assert_not_null(err);
			cr_assert(strncmp(err, "t.conf:", 7) == 0, "%s", err);
			cr_assert(strstr(err, c->err) != NULL,
			    "case %zu \"%s\": got \"%s\", want \"%s\"", i,
			    c->text, err, c->err);
			cr_assert(config_equal(&cfg, &def),
			    "case %zu: failed parse changed the config", i);
		}
		config_free(&cfg);
		config_free(&def);
	}
}

Test(config, defaults)
{
	struct config cfg;
	char *out;

	config_init(&cfg);
	cr_assert_str_eq(cfg.hostname, "");
	cr_assert_str_eq(cfg.state_dir, SLUICE_STATEDIR);
	cr_assert_str_eq(cfg.run_dir, SLUICE_RUNDIR);
	cr_assert_str_eq(cfg.user, "sluice");
	cr_assert_str_eq(cfg.group, "sluice");
	cr_assert_eq(cfg.log, CONFIG_LOG_SYSLOG);
	cr_assert_eq(cfg.log_level, CONFIG_LOG_INFO);
	cr_assert_str_eq(cfg.tls_cert, SLUICE_SYSCONFDIR "/tls/cert.pem");
	cr_assert_str_eq(cfg.tls_key, SLUICE_SYSCONFDIR "/tls/key.pem");
	cr_assert_eq(cfg.tls_min_version, CONFIG_TLS_1_2);
	cr_assert_eq(cfg.smtp_workers, 0);
	cr_assert_eq(cfg.message_size_limit, 25 * 1024 * 1024);
	cr_assert_eq(cfg.smtp_max_recipients, 1000);
	cr_assert_eq(cfg.smtp_max_errors, 10);
	cr_assert_eq(cfg.smtp_command_timeout, 300);
	cr_assert_eq(cfg.smtp_data_timeout, 600);
	cr_assert_eq(cfg.smtp_max_connections, 1000);
	cr_assert_eq(cfg.smtp_max_connections_per_ip, 20);
	cr_assert_eq(cfg.smtp_max_received, 100);
	cr_assert_eq(cfg.smtp_memory_body_limit, 1024 * 1024);
	cr_assert_eq(cfg.submission_hide_client, false);
	cr_assert_eq(cfg.auth_max_failures, 5);
	cr_assert_eq(cfg.auth_failure_window, 600);
	cr_assert_eq(cfg.password_scheme, CONFIG_PASSWORD_YESCRYPT);
	cr_assert_eq(cfg.password_cost, 0);
	cr_assert_str_eq(cfg.policy_file,
	    SLUICE_SYSCONFDIR "/policy/default.policy");
	cr_assert_str_eq(cfg.recipient_delimiter, "");
	cr_assert_str_eq(cfg.postmaster, "postmaster");
	cr_assert_eq(cfg.queue_lifetime, 5 * 86400);
	cr_assert_eq(cfg.retry_min, 300);
	cr_assert_eq(cfg.retry_max, 3600);
	cr_assert_eq(cfg.delay_warning, 4 * 3600);
	cr_assert_eq(cfg.mbox_workers, 0);
	cr_assert_eq(cfg.relay.n, 0);
	cr_assert_str_eq(cfg.relay_default, "");
	cr_assert_eq(cfg.relay_domains.n, 0);
	cr_assert_eq(cfg.smtp_tls_policy, CONFIG_TLS_POLICY_MAY);
	cr_assert_eq(cfg.smtp_tls_policies.n, 0);
	cr_assert_str_eq(cfg.smtp_client_ca_file, "");
	cr_assert_eq(cfg.remote_port, 25);
	cr_assert_eq(cfg.smtp_client_connect_timeout, 30);
	cr_assert_eq(cfg.smtp_client_greeting_timeout, 300);
	cr_assert_eq(cfg.smtp_client_command_timeout, 300);
	cr_assert_eq(cfg.smtp_client_data_timeout, 600);
	cr_assert_eq(cfg.smtp_client_max_connections, 100);
	cr_assert_eq(cfg.smtp_client_max_per_destination, 10);
	cr_assert_eq(cfg.smtp_client_reuse_time, 5);
	cr_assert_str_eq(cfg.dns_trust_anchor, "/usr/share/dns/root.key");
	cr_assert_str_eq(cfg.dns_root_hints, "");
	cr_assert_eq(cfg.dns_forwarders.n, 0);
	cr_assert_eq(cfg.dns_stub_zones.n, 0);
	cr_assert_eq(cfg.dns_resolv_conf, false);
	cr_assert_eq(cfg.dns_timeout, 30);

	cr_assert_eq(cfg.listen.n, 8);
	cr_assert_eq(cfg.listen.v[0].role, LISTENER_MX);
	cr_assert_eq(cfg.listen.v[0].port, 25);
	cr_assert_eq(cfg.listen.v[0].family, AF_UNSPEC);
	cr_assert_eq(cfg.listen.v[0].bare_lf, LISTENER_BARE_LF_REJECT);
	cr_assert_eq(cfg.listen.v[1].role, LISTENER_SUBMISSION);
	cr_assert_eq(cfg.listen.v[1].port, 587);
	cr_assert_eq(cfg.listen.v[1].bare_lf, LISTENER_BARE_LF_NORMALISE);
	cr_assert_eq(cfg.listen.v[2].port, 465);
	cr_assert_eq(cfg.listen.v[3].role, LISTENER_LOCAL);
	cr_assert_eq(cfg.listen.v[3].family, AF_UNIX);
	cr_assert_str_eq(cfg.listen.v[3].path, SLUICE_RUNDIR "/smtp.sock");
	cr_assert_eq(cfg.listen.v[4].port, 143);
	cr_assert_eq(cfg.listen.v[5].port, 993);
	cr_assert_eq(cfg.listen.v[6].port, 110);
	cr_assert_eq(cfg.listen.v[7].role, LISTENER_POP3S);
	cr_assert_eq(cfg.listen.v[7].port, 995);

	out = print_to_string(&cfg, false);
	cr_assert_str_eq(out, "");
	free(out);
	assert_round_trip(&cfg, true);
	config_free(&cfg);
}

/* Every key non-default at once, then round trips both ways. */
Test(config, print_round_trip)
{
	static const char text[] =
	    "hostname = mx.example.net\n"
	    "state_dir = \"/srv/sluice state\"\n"
	    "run_dir = /run/s\n"
	    "user = mailer\n"
	    "group = mail\n"
	    "log = stderr\n"
	    "log_level = debug\n"
	    "listen = mx [2001:db8::25]:25 name=in backlog=1024\n"
	    "listen = local /run/s/smtp.sock mode=0666 bare-lf=reject\n"
	    "listen = imaps 127.0.0.1:993 auth-plaintext\n"
	    "tls_cert = /etc/ssl/c#1.pem\n"
	    "tls_key = \"/etc/ssl/\\\"k\\\\.pem\"\n"
	    "tls_min_version = TLSv1.3\n"
	    "smtp_workers = 3\n"
	    "message_size_limit = 123456\n"
	    "smtp_max_recipients = 500\n"
	    "smtp_max_errors = 3\n"
	    "smtp_command_timeout = 61s\n"
	    "smtp_data_timeout = 1h\n"
	    "smtp_max_connections = 7\n"
	    "smtp_max_connections_per_ip = 2\n"
	    "smtp_max_received = 200\n"
	    "smtp_memory_body_limit = 0\n"
	    "submission_hide_client = yes\n"
	    "auth_max_failures = 9\n"
	    "auth_failure_window = 1d\n"
	    "password_scheme = bcrypt\n"
	    "password_cost = 12\n"
	    "policy_file = /etc/sluice/policy/isp.policy\n"
	    "recipient_delimiter = +\n"
	    "postmaster = root@example.net\n"
	    "queue_lifetime = 3d\n"
	    "retry_min = 1m\n"
	    "retry_max = 2h\n"
	    "delay_warning = 0\n"
	    "queue_retention = 1d\n"
	    "relay = isp smtp.isp.example:2525 tls=implicit "
	    "auth=/etc/sluice/isp.auth policy=dane\n"
	    "relay = backup [2001:db8::587]\n"
	    "relay_default = isp\n"
	    "relay_domains = partner.example=backup, Example.COM=ISP\n"
	    "smtp_tls_policy = verify\n"
	    "smtp_tls_policies = bank.example=dane, lab.example=none\n"
	    "smtp_client_ca_file = /etc/ssl/certs/ca-certificates.crt\n"
	    "remote_port = 2525\n"
	    "smtp_client_connect_timeout = 5s\n"
	    "smtp_client_greeting_timeout = 1m\n"
	    "smtp_client_command_timeout = 2m\n"
	    "smtp_client_data_timeout = 15m\n"
	    "smtp_client_max_connections = 50\n"
	    "smtp_client_max_per_destination = 5\n"
	    "smtp_client_reuse_time = 0\n"
	    "smtp_client_job_timeout = 2h\n"
	    "smtp_client_address_limit = 8\n"
	    "smtp_client_session_limit = 3\n"
	    "smtp_client_rcpt_limit = 50\n"
	    "dns_trust_anchor = /etc/sluice/test-root.key\n"
	    "dns_root_hints = /etc/sluice/root.hints\n"
	    "dns_forwarders = 127.0.0.53, ::1@5353\n"
	    "dns_stub_zones = .=127.0.0.1@5300, test=127.0.0.2\n"
	    "dns_resolv_conf = yes\n"
	    "dns_timeout = 5s\n"
	    "mbox_workers = 2\n"
	    "mailbox_sent = Sent Items\n"
	    "mailbox_drafts = Entw\xc3\xbcrfe\n"
	    "mailbox_trash = Deleted/Items\n"
	    "mailbox_junk =\n"
	    "mailbox_archive = Archives\n";
	struct config cfg, def;
	const char *err = NULL;
	char *all, *diff;

	config_init(&cfg);
	config_init(&def);
	cr_assert_eq(parse_str(&cfg, text, &err), 0, "%s", err);
	cr_assert_str_eq(cfg.state_dir, "/srv/sluice state");
	cr_assert_str_eq(cfg.tls_cert, "/etc/ssl/c#1.pem");
	cr_assert_str_eq(cfg.tls_key, "/etc/ssl/\"k\\.pem");
	cr_assert_eq(cfg.listen.n, 3);
	cr_assert_str_eq(cfg.listen.v[0].name, "in");
	cr_assert_eq(cfg.listen.v[0].backlog, 1024);
	cr_assert_eq(cfg.listen.v[1].mode, 0666);
	cr_assert_eq(cfg.listen.v[1].bare_lf, LISTENER_BARE_LF_REJECT);
	cr_assert_eq(cfg.smtp_command_timeout, 61);
	cr_assert_eq(cfg.message_size_limit, 123456);
	cr_assert_eq(cfg.relay.n, 2);
	cr_assert_str_eq(cfg.relay.v[0].name, "isp");
	cr_assert_str_eq(cfg.relay.v[0].host, "smtp.isp.example");
	cr_assert_eq(cfg.relay.v[0].port, 2525);
	cr_assert_eq(cfg.relay.v[0].tls, RELAY_TLS_IMPLICIT);
	cr_assert_str_eq(cfg.relay.v[0].auth_file, "/etc/sluice/isp.auth");
	cr_assert_str_eq(cfg.relay.v[0].policy, "dane");
	cr_assert_str_eq(cfg.relay.v[1].host, "2001:db8::587");
	cr_assert_eq(cfg.relay.v[1].port, 587);
	cr_assert_eq(cfg.relay.v[1].tls, RELAY_TLS_STARTTLS);
	cr_assert_null(cfg.relay.v[1].auth_file);
	cr_assert_str_eq(cfg.relay.v[1].policy, "verify");
	cr_assert_eq(relay_list_find(&cfg.relay, cfg.relay_default),
	    &cfg.relay.v[0]);
	cr_assert_str_eq(config_list_lookup(&cfg.relay_domains,
	    "example.com", 11), "ISP");
	cr_assert_eq(cfg.smtp_tls_policy, CONFIG_TLS_POLICY_VERIFY);
	cr_assert_eq(cfg.remote_port, 2525);
	cr_assert_eq(cfg.smtp_client_data_timeout, 900);
	cr_assert_eq(cfg.smtp_client_reuse_time, 0);
	cr_assert_eq(cfg.smtp_client_job_timeout, 7200);
	cr_assert_eq(cfg.smtp_client_address_limit, 8);
	cr_assert_eq(cfg.smtp_client_session_limit, 3);
	cr_assert_eq(cfg.smtp_client_rcpt_limit, 50);
	cr_assert_eq(cfg.dns_stub_zones.n, 2);
	cr_assert_str_eq(cfg.dns_stub_zones.v[0], ".=127.0.0.1@5300");
	cr_assert(cfg.dns_resolv_conf);
	cr_assert_eq(cfg.dns_timeout, 5);

	all = print_to_string(&cfg, true);
	diff = print_to_string(&cfg, false);
	/* Every key differs from its default, so both print everything. */
	cr_assert_str_eq(all, diff);
	cr_assert(!config_equal(&cfg, &def));
	assert_round_trip(&cfg, true);
	assert_round_trip(&cfg, false);
	free(all);
	free(diff);
	config_free(&cfg);
	config_free(&def);
}

Test(config, example_file_is_defaults)
{
	struct config cfg, def;
	struct buf uncommented = BUF_INIT;
	const char *err = NULL;
	char *text = NULL, *all;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_print_example(f);
	fclose(f);
	config_init(&cfg);
	config_init(&def);
	cr_assert_eq(parse_str(&cfg, text, &err), 0, "%s", err);
	cr_assert(config_equal(&cfg, &def));
	/* Uncommented, the example sets each key to its default. */
	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

		if (p[0] == '#' && p[1] != ' ' && p[1] != '\n')
			buf_append(&uncommented, p + 1, n - 1);
		p += n;
	}
	cr_assert_eq(parse_str(&cfg, buf_cstr(&uncommented), &err), 0, "%s",
	    err);
	cr_assert(config_equal(&cfg, &def));
	/* ... and it is exactly what print(all) writes for the defaults. */
	all = print_to_string(&def, true);
	cr_assert_str_eq(buf_cstr(&uncommented), all);
	/* Repeatable keys explain their syntax; optional paths say so. */
	cr_assert(strstr(text, "# NAME: letters, digits") != NULL);
	cr_assert(strstr(text, "# Type: relay, repeatable.\n") != NULL);
	cr_assert(strstr(text, "# Type: absolute path or empty.\n"
	    "#dns_root_hints = \"\"\n") != NULL, "%s", text);
	free(all);
	free(text);
	buf_release(&uncommented);
	config_free(&cfg);
	config_free(&def);
}

Test(config, nul_byte)
{
	static const char text[] = "smtp_workers = 1\nsmtp_\0workers = 2\n";
	struct config cfg;
	const char *err = NULL;

	config_init(&cfg);
	cr_assert_eq(config_parse(&cfg, "t.conf", text, sizeof(text) - 1,
	    &err), -1);
	cr_assert_str_eq(err, "t.conf:2: NUL byte in line");
	cr_assert_eq(cfg.smtp_workers, 0);
	config_free(&cfg);
}

Test(config, long_lines)
{
	struct buf b = BUF_INIT;
	struct config cfg;
	const char *err = NULL;

	config_init(&cfg);
	/* A comment of exactly the limit, CRLF not counted. */
	buf_append_byte(&b, '#');
	for (size_t i = 1; i < CONFIG_LINE_MAX; i++)
		buf_append_byte(&b, 'x');
	buf_append_str(&b, "\r\n");
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), 0, "%s", err);
	/* One more byte. */
	buf_reset(&b);
	buf_append_str(&b, "smtp_workers = 1\n#");
	for (size_t i = 0; i < CONFIG_LINE_MAX; i++)
		buf_append_byte(&b, 'x');
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), -1);
	cr_assert_str_eq(err, "t.conf:2: line is longer than 8192 bytes");

	/* The longest path, and one byte more. */
	buf_reset(&b);
	buf_append_str(&b, "policy_file = /");
	for (size_t i = 1; i < 1023; i++)
		buf_append_byte(&b, 'p');
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), 0, "%s", err);
	cr_assert_eq(strlen(cfg.policy_file), 1023);
	buf_append_str(&b, "p\n");
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), -1);
	cr_assert(strstr(err, "is too long (at most 1023 bytes)") != NULL,
	    "%s", err);
	/* The bad value is cut short in the message. */
	cr_assert(strstr(err, "ppp...\" is too long") != NULL, "%s", err);
	cr_assert_lt(strlen(err), 200);
	buf_release(&b);
	config_free(&cfg);
}

Test(config, hostname_length)
{
	struct buf b = BUF_INIT;
	struct config cfg;
	const char *err = NULL;

	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	buf_append_str(&b, "hostname = ");
	for (int label = 0; label < 4; label++) {
		for (int i = 0; i < (label < 3 ? 63 : 61); i++)
			buf_append_byte(&b, 'a');
		if (label < 3)
			buf_append_byte(&b, '.');
	}
	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), 0, "%s", err);
	cr_assert_eq(strlen(cfg.hostname), 253);
	config_free(&cfg);

	config_init(&cfg);
	buf_append_byte(&b, 'a');
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), -1);
	cr_assert(strstr(err, "is too long (at most 253 bytes)") != NULL,
	    "%s", err);
	config_free(&cfg);

	/* A 64-byte label. */
	buf_reset(&b);
	buf_append_str(&b, "hostname = ");
	for (int i = 0; i < 64; i++)
		buf_append_byte(&b, 'a');
	buf_append_str(&b, ".example");
	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, buf_cstr(&b), &err), -1);
	cr_assert(strstr(err, "a label is too long") != NULL, "%s", err);
	config_free(&cfg);
	buf_release(&b);
}

Test(config, failed_parse_keeps_config)
{
	struct config cfg;
	const char *err = NULL, *err2 = NULL;

	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, "message_size_limit = 10M\n"
	    "listen = mx 127.0.0.1:25\n", &err), 0);
	cr_assert_eq(parse_str(&cfg, "smtp_workers = 2\n"
	    "listen = imap *:143\nbogus = 1\n", &err), -1);
	cr_assert_str_eq(err, "t.conf:3: unknown key \"bogus\"");
	cr_assert_eq(cfg.message_size_limit, 10 * 1024 * 1024);
	cr_assert_eq(cfg.smtp_workers, 0);
	cr_assert_eq(cfg.listen.n, 1);
	cr_assert_eq(cfg.listen.v[0].port, 25);
	/* The error belongs to cfg and is replaced by the next one. */
	cr_assert_eq(parse_str(&cfg, "x = 1", &err2), -1);
	cr_assert_str_eq(err2, "t.conf:1: unknown key \"x\"");
	config_free(&cfg);
}

/* A later text overrides scalars, and its first listen line replaces. */
Test(config, layered_parses)
{
	struct config cfg;
	const char *err = NULL;

	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, "listen = mx 127.0.0.1:25\n"
	    "listen = mx 127.0.0.2:25\nsmtp_workers = 1", &err), 0);
	cr_assert_eq(cfg.listen.n, 2);
	cr_assert_eq(parse_str(&cfg, "smtp_workers = 2", &err), 0);
	cr_assert_eq(cfg.smtp_workers, 2);
	cr_assert_eq(cfg.listen.n, 2);
	cr_assert_eq(parse_str(&cfg, "listen = imap 127.0.0.1:143", &err), 0);
	cr_assert_eq(cfg.listen.n, 1);
	cr_assert_eq(cfg.listen.v[0].role, LISTENER_IMAP);
	/* The rules between keys see values from earlier texts. */
	cr_assert_eq(parse_str(&cfg, "retry_max = 10m", &err), 0);
	cr_assert_eq(parse_str(&cfg, "retry_min = 11m", &err), -1);
	cr_assert_str_eq(err, "t.conf:1: retry_min must not be longer than "
	    "retry_max");
	config_free(&cfg);
}

/* Relays are replaced like listeners; routes are checked against them. */
Test(config, layered_relays)
{
	struct config cfg;
	const char *err = NULL;

	config_init(&cfg);
	cr_assert_eq(parse_str(&cfg, "relay = a h.example\nrelay = b "
	    "i.example\nrelay_default = b\nrelay_domains = x.example=a",
	    &err), 0, "%s", err);
	cr_assert_eq(cfg.relay.n, 2);
	cr_assert_eq(parse_str(&cfg, "relay = b j.example", &err), -1);
	cr_assert_str_eq(err, "t.conf:1: relay_domains: \"x.example=a\" "
	    "names no configured relay");
	cr_assert_eq(cfg.relay.n, 2);
	cr_assert_eq(parse_str(&cfg, "relay = b j.example\nrelay = a "
	    "k.example:25", &err), 0, "%s", err);
	cr_assert_eq(cfg.relay.n, 2);
	cr_assert_str_eq(cfg.relay.v[0].host, "j.example");
	cr_assert_eq(relay_list_find(&cfg.relay, "A")->port, 25);
	cr_assert_eq(parse_str(&cfg, "relay_domains =\nrelay_default =\n"
	    "relay =", &err), 0, "%s", err);
	cr_assert_eq(cfg.relay.n, 0);
	cr_assert_null(relay_list_find(&cfg.relay, "a"));
	config_free(&cfg);
}

Test(config, remote_helpers)
{
	static const char *const names[] = {
		"none", "may", "encrypt", "verify", "dane",
	};
	struct config_list list = { NULL, 0 };
	enum config_tls_policy policy;
	const char *err = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_str_eq(config_tls_policy_name(
		    (enum config_tls_policy)i), names[i]);
		cr_assert_eq(config_tls_policy_from_name(names[i],
		    strlen(names[i]), &policy), 0);
		cr_assert_eq(policy, (enum config_tls_policy)i);
	}
	cr_assert_eq(config_tls_policy_from_name("DANE", 4, &policy), 0);
	cr_assert_eq(policy, CONFIG_TLS_POLICY_DANE);
	cr_assert_eq(config_tls_policy_from_name("dan", 3, &policy), -1);
	cr_assert_eq(config_tls_policy_from_name("", 0, &policy), -1);
	cr_assert_str_eq(config_tls_policy_name(
	    (enum config_tls_policy)99), "may");

	cr_assert_eq(config_list_parse("a.example=x B.example=y "
	    "b.example=z .=127.0.0.1", 47, &list, &err), 0);
	cr_assert_str_eq(config_list_lookup(&list, "a.example", 9), "x");
	cr_assert_str_eq(config_list_lookup(&list, "b.EXAMPLE", 9), "y");
	cr_assert_str_eq(config_list_lookup(&list, ".", 1), "127.0.0.1");
	cr_assert_null(config_list_lookup(&list, "a.exampl", 8));
	cr_assert_null(config_list_lookup(&list, "a.example=x", 11));
	cr_assert_null(config_list_lookup(&list, "c.example", 9));
	config_list_clear(&list);
	cr_assert_null(config_list_lookup(&list, "a.example", 9));
}

Test(config, value_checks)
{
	static const struct {
		const char *(*check)(const char *, size_t);
		const char	*in;
		bool		 ok;
	} cases[] = {
		{ config_check_relay_name, "", true },
		{ config_check_relay_name, "isp-1.a_b", true },
		{ config_check_relay_name, "9", true },
		{ config_check_relay_name, "_isp", false },
		{ config_check_relay_name, "is p", false },
		{ config_check_relay_route, "example.org=isp", true },
		{ config_check_relay_route, "example.org=isp=x", false },
		{ config_check_relay_route, "example.org=", false },
		{ config_check_relay_route, "example.org", false },
		{ config_check_tls_policy_item, "example.org=dane", true },
		{ config_check_tls_policy_item, "example.org=dane=x", false },
		{ config_check_dns_server, "192.0.2.1", true },
		{ config_check_dns_server, "2001:db8::1@53", true },
		{ config_check_dns_server, "::ffff:192.0.2.1@65535", true },
		{ config_check_dns_server, "192.0.2.1@+53", false },
		{ config_check_dns_server, "192.0.2.1@ 53", false },
		{ config_check_dns_server, "192.0.2", false },
		{ config_check_dns_server, "", false },
		{ config_check_stub_zone, ".=::1", true },
		{ config_check_stub_zone, "in-addr.arpa=::1", true },
		{ config_check_stub_zone, "2.0.192.in-addr.arpa=::1", true },
		{ config_check_stub_zone, ".=", false },
		{ config_check_stub_zone, "=::1", false },
		{ config_check_hostname, "mx.example", true },
		{ config_check_hostname, "mx..example", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = cases[i].check(cases[i].in,
		    strlen(cases[i].in));

		cr_assert_eq(why == NULL, cases[i].ok, "case %zu \"%s\": %s",
		    i, cases[i].in, why != NULL ? why : "ok");
	}
}

/*
 * Every prefix of a good file either parses or fails on its last, cut
 * line; a prefix ending at a line boundary always parses.
 */
Test(config, every_prefix)
{
	static const char text[] =
	    "# sluice.conf\r\n"
	    "hostname = \"mx.example.org\" # quoted\r\n"
	    "\r\n"
	    "listen = mx [::1]:2525 backlog=64\n"
	    "listen = local /run/s.sock mode=0600\n"
	    "message_size_limit = 20M\n"
	    "smtp_command_timeout = 2m\n"
	    "submission_hide_client = yes\n"
	    "relay = isp smtp.isp.example:2525 auth=/etc/s/a\n"
	    "relay_domains = a.example=isp, b.example=ISP\n"
	    "dns_stub_zones = .=127.0.0.1@5300, test=::1\n"
	    "log_level = warning";
	size_t len = sizeof(text) - 1;

	for (size_t n = 0; n <= len; n++) {
		struct config cfg;
		const char *err = NULL;
		size_t lines = 1;
		char want[32];

		for (size_t i = 0; i < n; i++)
			lines += text[i] == '\n';
		config_init(&cfg);
		if (config_parse(&cfg, "t.conf", text, n, &err) == -1) {
			cr_assert(n > 0 && text[n - 1] != '\n',
			    "prefix %zu: %s", n, err);
			snprintf(want, sizeof(want), "t.conf:%zu: ", lines);
			cr_assert(strncmp(err, want, strlen(want)) == 0,
			    "prefix %zu: %s", n, err);
		}
		config_free(&cfg);
	}
}

Test(config, copy_and_equal)
{
	struct config a, b;
	const char *err = NULL;

	config_init(&a);
	cr_assert_eq(parse_str(&a, "hostname = a.example\n"
	    "listen = mx *:2525", &err), 0);
	config_copy(&b, &a);
	cr_assert(config_equal(&a, &b));
	cr_assert_neq(a.hostname, b.hostname);
	cr_assert_neq(a.listen.v, b.listen.v);
	cr_assert_eq(parse_str(&b, "hostname = b.example", &err), 0);
	cr_assert(!config_equal(&a, &b));
	cr_assert_str_eq(a.hostname, "a.example");
	config_free(&a);
	config_free(&b);
	/* Freeing twice, or NULL, is harmless. */
	config_free(&a);
	config_free(NULL);
}

static char tmpdir[64];

static void
tmpdir_make(void)
{
	str_copy(tmpdir, "/tmp/test_config.XXXXXX", sizeof(tmpdir));
	cr_assert_not_null(mkdtemp(tmpdir));
}

static char *
file_write(const char *name, const char *text, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

Test(config, load_file, .init = tmpdir_make)
{
	static const char text[] = "smtp_workers = 4\n";
	struct config cfg;
	const char *err = NULL;
	char host[256];
	char *path = file_write("sluice.conf", text, sizeof(text) - 1);
	char *out;

	config_init(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, &err), 0, "%s", err);
	cr_assert_eq(cfg.smtp_workers, 4);
	/* The empty hostname became the system's, which counts as default. */
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	cr_assert_str_eq(cfg.hostname, host);
	out = print_to_string(&cfg, false);
	cr_assert_str_eq(out, "smtp_workers = 4\n");
	free(out);
	assert_round_trip(&cfg, true);
	/* Setting it in a file makes it explicit again. */
	cr_assert_eq(parse_str(&cfg, "hostname = set.example", &err), 0);
	cr_assert_eq(config_resolve(&cfg, &err), 0);
	cr_assert_str_eq(cfg.hostname, "set.example");
	out = print_to_string(&cfg, false);
	cr_assert_str_eq(out, "hostname = set.example\nsmtp_workers = 4\n");
	free(out);
	unlink(path);
	free(path);
	config_free(&cfg);
}

Test(config, load_file_errors, .init = tmpdir_make)
{
	struct config cfg;
	struct buf b = BUF_INIT;
	const char *err = NULL;
	char *path, *want;

	config_init(&cfg);
	path = xasprintf("%s/missing.conf", tmpdir);
	cr_assert_eq(config_load_file(&cfg, path, &err), -1);
	want = xasprintf("%s: cannot open: ", path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	free(want);
	free(path);

	cr_assert_eq(config_load_file(&cfg, tmpdir, &err), -1);
	cr_assert(strstr(err, "not a regular file") != NULL, "%s", err);

	path = file_write("bad.conf", "\n\nmesage_size_limit = 1\n", 23);
	cr_assert_eq(config_load_file(&cfg, path, &err), -1);
	want = xasprintf("%s:3: unknown key \"mesage_size_limit\"", path);
	cr_assert_str_eq(err, want);
	free(want);
	unlink(path);
	free(path);

	/* Exactly the limit loads; one byte more does not. */
	for (size_t i = 0; i < CONFIG_FILE_MAX / 64; i++)
		buf_append_str(&b, "#234567890123456789012345678901234567890"
		    "12345678901234567890123\n");
	cr_assert_eq(b.len, CONFIG_FILE_MAX);
	path = file_write("big.conf", b.data, b.len);
	cr_assert_eq(config_load_file(&cfg, path, &err), 0, "%s", err);
	unlink(path);
	free(path);
	buf_append_byte(&b, '\n');
	path = file_write("big.conf", b.data, b.len);
	cr_assert_eq(config_load_file(&cfg, path, &err), -1);
	cr_assert(strstr(err, "larger than 1024 KiB") != NULL, "%s", err);
	unlink(path);
	free(path);
	buf_release(&b);
	config_free(&cfg);
	rmdir(tmpdir);
}

Test(config, default_path)
{
	cr_assert_str_eq(config_default_path(),
	    SLUICE_SYSCONFDIR "/sluice.conf");
}

struct number_case {
	const char	*in;
	int		 ok;
	uint64_t	 value;
};

Test(config, size_parse)
{
	static const struct number_case cases[] = {
		{ "0", 1, 0 }, { "1", 1, 1 }, { "1k", 1, 1024 },
		{ "1K", 1, 1024 }, { "3M", 1, 3 << 20 },
		{ "2g", 1, 2ULL << 30 },
		{ "18446744073709551615", 1, UINT64_MAX },
		{ "18446744073709551616", 0, 0 },
		{ "17179869183G", 1, 17179869183ULL << 30 },
		{ "17179869184G", 0, 0 },
		{ "", 0, 0 }, { "K", 0, 0 }, { " 1", 0, 0 }, { "1 ", 0, 0 },
		{ "-1", 0, 0 }, { "1KK", 0, 0 }, { "1b", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 42;
		const char *err = NULL;
		int rc = config_size_parse(cases[i].in, strlen(cases[i].in),
		    &v, &err);

		cr_assert_eq(rc, cases[i].ok ? 0 : -1, "\"%s\"", cases[i].in);
		if (cases[i].ok)
			cr_assert_eq(v, cases[i].value, "\"%s\"", cases[i].in);
		else
			cr_assert(err != NULL && v == 42, "\"%s\"",
			    cases[i].in);
	}
}

Test(config, duration_parse)
{
	static const struct number_case cases[] = {
		{ "0", 1, 0 }, { "7", 1, 7 }, { "7s", 1, 7 },
		{ "2m", 1, 120 }, { "2h", 1, 7200 }, { "2d", 1, 172800 },
		{ "2w", 1, 1209600 },
		{ "30500568904943w", 1, 30500568904943ULL * 604800 },
		{ "30500568904944w", 0, 0 },
		{ "", 0, 0 }, { "s", 0, 0 }, { "1S", 0, 0 }, { "1y", 0, 0 },
		{ "1m1s", 0, 0 }, { "-1", 0, 0 }, { "1 m", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 42;
		const char *err = NULL;
		int rc = config_duration_parse(cases[i].in,
		    strlen(cases[i].in), &v, &err);

		cr_assert_eq(rc, cases[i].ok ? 0 : -1, "\"%s\"", cases[i].in);
		if (cases[i].ok)
			cr_assert_eq(v, cases[i].value, "\"%s\"", cases[i].in);
		else
			cr_assert(err != NULL && v == 42, "\"%s\"",
			    cases[i].in);
	}
}

Test(config, bool_parse)
{
	static const struct number_case cases[] = {
		{ "yes", 1, 1 }, { "Yes", 1, 1 }, { "TRUE", 1, 1 },
		{ "on", 1, 1 }, { "1", 1, 1 }, { "no", 1, 0 },
		{ "false", 1, 0 }, { "OFF", 1, 0 }, { "0", 1, 0 },
		{ "", 0, 0 }, { "y", 0, 0 }, { "yess", 0, 0 }, { "01", 0, 0 },
		{ "no ", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool v = true;
		const char *err = NULL;
		int rc = config_bool_parse(cases[i].in, strlen(cases[i].in),
		    &v, &err);

		cr_assert_eq(rc, cases[i].ok ? 0 : -1, "\"%s\"", cases[i].in);
		if (cases[i].ok)
			cr_assert_eq(v, cases[i].value != 0, "\"%s\"",
			    cases[i].in);
		else
			cr_assert_str_eq(err, "not a boolean (use yes or no)");
	}
}

Test(config, list_parse)
{
	static const struct {
		const char	*in;
		const char	*want;	/* items joined by '|'; NULL: error */
	} cases[] = {
		{ "", "" },
		{ "   ", "" },
		{ "a", "a" },
		{ "a,b", "a|b" },
		{ "a b", "a|b" },
		{ "a, b c ,d\te", "a|b|c|d|e" },
		{ " \ta ,\t b ", "a|b" },
		{ "a,,b", NULL },
		{ "a, ,b", NULL },
		{ ",a", NULL },
		{ "a,", NULL },
		{ "a , ", NULL },
		{ ",", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_list list = { NULL, 0 };
		struct buf b = BUF_INIT;
		const char *err = NULL;
		int rc;

		rc = config_list_parse(cases[i].in, strlen(cases[i].in), &list,
		    &err);
		if (cases[i].want == NULL) {
			cr_assert_eq(rc, -1, "\"%s\"", cases[i].in);
			cr_assert_str_eq(err, "not a list (an item is empty)");
			cr_assert_eq(list.n, 0);
			continue;
		}
		cr_assert_eq(rc, 0, "\"%s\"", cases[i].in);
		for (size_t j = 0; j < list.n; j++)
			buf_printf(&b, "%s%s", j > 0 ? "|" : "", list.v[j]);
		cr_assert_str_eq(buf_cstr(&b), cases[i].want, "\"%s\"",
		    cases[i].in);
		buf_release(&b);
		config_list_clear(&list);
	}
}

Test(config, list_parse_appends)
{
	struct config_list list = { NULL, 0 };
	const char *err = NULL;

	cr_assert_eq(config_list_parse("a b", 3, &list, &err), 0);
	cr_assert_eq(config_list_parse("c", 1, &list, &err), 0);
	cr_assert_eq(list.n, 3);
	cr_assert_str_eq(list.v[2], "c");
	/* A bad list adds nothing. */
	cr_assert_eq(config_list_parse("d,,e", 5, &list, &err), -1);
	cr_assert_eq(list.n, 3);
	config_list_clear(&list);
	cr_assert_eq(list.n, 0);
	cr_assert_null(list.v);
	config_list_clear(NULL);
}

Test(config, uint_parse)
{
	static const struct number_case cases[] = {
		{ "0", 1, 0 }, { "007", 1, 7 },
		{ "18446744073709551615", 1, UINT64_MAX },
		{ "18446744073709551616", 0, 0 },
		{ "99999999999999999999999", 0, 0 },
		{ "", 0, 0 }, { "-1", 0, 0 }, { "+1", 0, 0 }, { "1 ", 0, 0 },
		{ "1k", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 42;
		const char *err = NULL;
		int rc = config_uint_parse(cases[i].in, strlen(cases[i].in),
		    &v, &err);

		cr_assert_eq(rc, cases[i].ok ? 0 : -1, "\"%s\"", cases[i].in);
		if (cases[i].ok)
			cr_assert_eq(v, cases[i].value, "\"%s\"", cases[i].in);
		else
			cr_assert(err != NULL && v == 42, "\"%s\"",
			    cases[i].in);
	}
}

Test(config, formats)
{
	static const struct {
		uint64_t	 v;
		const char	*size;
		const char	*duration;
	} cases[] = {
		{ 0, "0", "0" },
		{ 1, "1", "1s" },
		{ 59, "59", "59s" },
		{ 60, "60", "1m" },
		{ 90, "90", "90s" },
		{ 1024, "1K", "1024s" },
		{ 1536, "1536", "1536s" },
		{ 3600, "3600", "1h" },
		{ 86400, "86400", "1d" },
		{ 604800, "604800", "1w" },
		{ 1209600, "1209600", "2w" },
		{ 1048576, "1M", "1048576s" },
		{ 3ULL << 30, "3G", "3221225472s" },
		{ UINT64_MAX, "18446744073709551615", "18446744073709551615s" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		uint64_t back = 0;
		const char *err = NULL;

		config_size_format(cases[i].v, &b);
		cr_assert_str_eq(buf_cstr(&b), cases[i].size);
		cr_assert_eq(config_size_parse(b.data, b.len, &back, &err), 0);
		cr_assert_eq(back, cases[i].v);
		buf_reset(&b);
		config_duration_format(cases[i].v, &b);
		cr_assert_str_eq(buf_cstr(&b), cases[i].duration);
		cr_assert_eq(config_duration_parse(b.data, b.len, &back,
		    &err), 0);
		cr_assert_eq(back, cases[i].v);
		buf_release(&b);
	}
}

Test(config, password_scheme_name)
{
	static const char *const names[] = {
		"yescrypt", "bcrypt", "sha512crypt", "sha256crypt",
	};
	struct config cfg;
	const char *err = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *text = xasprintf("password_scheme = %s", names[i]);

		config_init(&cfg);
		cr_assert_eq(parse_str(&cfg, text, &err), 0);
		cr_assert_str_eq(config_password_scheme_name(
		    cfg.password_scheme), names[i]);
		config_free(&cfg);
		free(text);
	}
}

Test(config, log_priority)
{
	static const struct {
		const char	*text;
		int		 prio;
	} cases[] = {
		{ "log_level = debug", LOG_DEBUG },
		{ "log_level = info", LOG_INFO },
		{ "log_level = notice", LOG_NOTICE },
		{ "log_level = warning", LOG_WARNING },
		{ "log_level = error", LOG_ERR },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		const char *err = NULL;

		config_init(&cfg);
		cr_assert_eq(parse_str(&cfg, cases[i].text, &err), 0);
		cr_assert_eq(config_log_priority(&cfg), cases[i].prio);
		config_free(&cfg);
	}
}
