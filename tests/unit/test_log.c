/* Unit tests for log: field layout, sanitising, quoting, levels. */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"

/* Captures what the logger writes, through an in-memory stream. */
struct capture {
	FILE	*fp;
	char	*data;
	size_t	 len;
};

static void
capture_start(struct capture *c, int min_prio)
{
	c->data = NULL;
	c->len = 0;
	c->fp = open_memstream(&c->data, &c->len);
	cr_assert_not_null(c->fp);
	log_open_stream("sluiced", c->fp, min_prio);
}

/* Returns everything written so far; owned by c. */
static const char *
capture_text(struct capture *c)
{
	fflush(c->fp);
	return c->data != NULL ? c->data : "";
}

static void
capture_end(struct capture *c)
{
	log_close();
	fclose(c->fp);
	free(c->data);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* The body of the one line written: after "<level>: ", without '\n'. */
static char *
capture_body(struct capture *c)
{
	const char *text = capture_text(c), *p;
	size_t len;

	cr_assert_eq(count_lines(text), 1, "want one line, got: %s", text);
	p = strstr(text, "]: ");
	cr_assert_not_null(p);
	p = strstr(p + 3, ": ");
	cr_assert_not_null(p);
	p += 2;
	len = strlen(p);
	cr_assert(len > 0 && p[len - 1] == '\n');
	return xstrndup(p, len - 1);
}

Test(log, stream_line_layout)
{
	struct capture c;
	regex_t re;
	char *pattern;

	capture_start(&c, LOG_INFO);
	log_msg(LOG_INFO, "8f3a2c", "0KJ4ZQ3M1A2B", "event=queued size=%d",
	    5120);
	pattern = xasprintf("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}Z sluiced\\[%ld\\]: info: sid=8f3a2c qid=0KJ4ZQ3M1A2B "
	    "event=queued size=5120\n$", (long)getpid());
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, capture_text(&c), 0, NULL, 0), 0,
	    "line: %s", capture_text(&c));
	regfree(&re);
	free(pattern);
	capture_end(&c);
}

struct id_case {
	const char *sid, *qid, *want;
};

static const struct id_case id_cases[] = {
	{ "s1", "Q1", "sid=s1 qid=Q1 event=x" },
	{ NULL, "Q1", "qid=Q1 event=x" },
	{ "s1", NULL, "sid=s1 event=x" },
	{ NULL, NULL, "event=x" },
};

Test(log, sid_qid_omitted_when_null)
{
	for (size_t i = 0; i < ARRAY_SIZE(id_cases); i++) {
		struct capture c;
		char *body;

		capture_start(&c, LOG_INFO);
		log_msg(LOG_NOTICE, id_cases[i].sid, id_cases[i].qid,
		    "event=x");
		body = capture_body(&c);
		cr_assert_str_eq(body, id_cases[i].want, "case %zu", i);
		free(body);
		capture_end(&c);
	}
}

Test(log, level_names)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice",
		"info", "debug",
	};

	for (int prio = LOG_EMERG; prio <= LOG_DEBUG; prio++) {
		struct capture c;
		char *want;

		capture_start(&c, LOG_DEBUG);
		log_msg(prio, NULL, NULL, "event=x");
		want = xasprintf("]: %s: event=x\n", names[prio]);
		cr_assert_not_null(strstr(capture_text(&c), want),
		    "prio %d: %s", prio, capture_text(&c));
		free(want);
		capture_end(&c);
	}
}

Test(log, level_filtering)
{
	struct capture c;
	const char *text;

	capture_start(&c, LOG_WARNING);
	log_msg(LOG_DEBUG, NULL, NULL, "event=d");
	log_msg(LOG_INFO, NULL, NULL, "event=i");
	log_msg(LOG_NOTICE, NULL, NULL, "event=n");
	log_msg(LOG_WARNING, NULL, NULL, "event=w");
	log_msg(LOG_ERR, NULL, NULL, "event=e");
	text = capture_text(&c);
	cr_assert_eq(count_lines(text), 2, "%s", text);
	cr_assert_not_null(strstr(text, "event=w"));
	cr_assert_not_null(strstr(text, "event=e"));
	cr_assert_null(strstr(text, "event=n"));

	log_set_level(LOG_DEBUG);
	log_msg(LOG_DEBUG, NULL, NULL, "event=d2");
	cr_assert_eq(count_lines(capture_text(&c)), 3);
	cr_assert(log_level_enabled(LOG_DEBUG));

	log_set_level(LOG_ERR);
	cr_assert(!log_level_enabled(LOG_WARNING));
	cr_assert(log_level_enabled(LOG_ERR));
	cr_assert(log_level_enabled(LOG_CRIT));
	capture_end(&c);
}

Test(log, level_clamped)
{
	log_set_level(100);
	cr_assert(log_level_enabled(LOG_DEBUG));
	log_set_level(-5);
	cr_assert(log_level_enabled(LOG_EMERG));
	cr_assert(!log_level_enabled(LOG_ALERT));
	log_close();
	cr_assert(log_level_enabled(LOG_INFO));
	cr_assert(!log_level_enabled(LOG_DEBUG));
}

Test(log, facility_bits_ignored)
{
	struct capture c;

	capture_start(&c, LOG_INFO);
	log_msg(LOG_MAIL | LOG_DEBUG, NULL, NULL, "event=d");
	log_msg(LOG_MAIL | LOG_ERR, NULL, NULL, "event=e");
	cr_assert_eq(count_lines(capture_text(&c)), 1);
	cr_assert_not_null(strstr(capture_text(&c), ": error: event=e\n"));
	capture_end(&c);
}

Test(log, control_bytes_escaped)
{
	struct capture c;
	char *body;

	capture_start(&c, LOG_INFO);
	/* Bytes a hostile argument could use to end or forge a line. */
	log_msg(LOG_INFO, "s\n1", NULL, "a=%s b=%c c=%s d=%s",
	    "x\r\nsid=evil", '\0', "\x7f\x1b[2J\t", "\"q\\ \x80\xff");
	body = capture_body(&c);
	cr_assert_str_eq(body, "sid=s\\x0a1 a=x\\x0d\\x0asid=evil b=\\x00 "
	    "c=\\x7f\\x1b[2J\\x09 d=\"q\\ \x80\xff");
	free(body);
	capture_end(&c);
}

static void
log_body_of(size_t rawlen, const char *tail, char **body_r)
{
	struct capture c;
	char *arg = xmalloc(rawlen + 1);

	memset(arg, 'a', rawlen);
	arg[rawlen] = '\0';
	capture_start(&c, LOG_INFO);
	log_msg(LOG_INFO, NULL, NULL, "%s%s", arg, tail);
	*body_r = capture_body(&c);
	capture_end(&c);
	free(arg);
}

Test(log, line_length_edges)
{
	char *body;

	/* Exactly the limit: no marker. */
	log_body_of(LOG_LINE_MAX, "", &body);
	cr_assert_eq(strlen(body), LOG_LINE_MAX);
	cr_assert_eq(body[LOG_LINE_MAX - 1], 'a');
	free(body);

	/* One past: cut to the limit, marker included. */
	log_body_of(LOG_LINE_MAX + 1, "", &body);
	cr_assert_eq(strlen(body), LOG_LINE_MAX);
	cr_assert_str_eq(body + LOG_LINE_MAX - 3, "...");
	cr_assert_eq(body[LOG_LINE_MAX - 4], 'a');
	free(body);

	/* Huge argument: still bounded. */
	log_body_of(1024 * 1024, "", &body);
	cr_assert_eq(strlen(body), LOG_LINE_MAX);
	cr_assert_str_eq(body + LOG_LINE_MAX - 3, "...");
	free(body);

	/* Escaping makes the line too long: the cut never splits \xNN. */
	log_body_of(LOG_LINE_MAX - 5, "\n\n", &body);
	cr_assert_eq(strlen(body), LOG_LINE_MAX - 2);
	cr_assert_str_eq(body + LOG_LINE_MAX - 8, "aaa...");
	free(body);

	/* An escape that exactly fits is kept whole, no marker. */
	log_body_of(LOG_LINE_MAX - 4, "\n", &body);
	cr_assert_eq(strlen(body), LOG_LINE_MAX);
	cr_assert_str_eq(body + LOG_LINE_MAX - 5, "a\\x0a");
	free(body);
}

Test(log, empty_message)
{
	struct capture c;
	char *body;

	capture_start(&c, LOG_INFO);
	log_msg(LOG_INFO, "s", NULL, "%s", "");
	body = capture_body(&c);
	cr_assert_str_eq(body, "sid=s ");
	free(body);
	capture_end(&c);
}

Test(log, errno_kept_for_percent_m_and_caller)
{
	struct capture c;
	char *body;

	capture_start(&c, LOG_INFO);
	errno = ENOENT;
	log_msg(LOG_ERR, NULL, NULL, "error=\"%m\"");
	cr_assert_eq(errno, ENOENT);
	body = capture_body(&c);
	cr_assert_str_eq(body, "error=\"No such file or directory\"");
	free(body);
	errno = EACCES;
	log_msg(LOG_DEBUG, NULL, NULL, "dropped");
	cr_assert_eq(errno, EACCES);
	capture_end(&c);
}

#define THREADS	4
#define PER_THREAD 300

static void *
log_thread(void *arg)
{
	long id = (long)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++)
		log_msg(LOG_INFO, NULL, NULL, "event=t thread=%ld i=%d "
		    "pad=%0200d", id, i, 0);
	return NULL;
}

Test(log, threads_write_whole_lines)
{
	pthread_t tids[THREADS];
	struct capture c;
	const char *p, *id;
	size_t lines = 0;

	capture_start(&c, LOG_INFO);
	for (long i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&tids[i], NULL, log_thread,
		    (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(tids[i], NULL);
	for (p = capture_text(&c); *p != '\0'; lines++) {
		const char *nl = strchr(p, '\n');

		cr_assert_not_null(nl);
		/* Each line holds exactly one event, whole. */
		cr_assert_eq(memcmp(nl - 200, "0000", 4), 0);
		cr_assert_not_null(memmem(p, (size_t)(nl - p), "event=t ", 8));
		id = memmem(p, (size_t)(nl - p), "sluiced[", 8);
		cr_assert_not_null(id);
		cr_assert_null(memmem(id + 1, (size_t)(nl - id - 1),
		    "sluiced[", 8));
		p = nl + 1;
	}
	cr_assert_eq(lines, THREADS * PER_THREAD);
	capture_end(&c);
}

struct quote_case {
	const char	*in;
	size_t		 len;
	size_t		 max;
	const char	*want;
};

#define Q(s, max, want) { s, sizeof(s) - 1, max, want }

static const struct quote_case quote_cases[] = {
	Q("", 10, "\"\""),
	Q("", 0, "\"\""),
	Q("mail.example.com", 64, "mail.example.com"),
	Q("<user@example.com>", 64, "<user@example.com>"),
	Q("a b", 64, "\"a b\""),
	Q("a=b", 64, "\"a=b\""),
	Q("a\"b", 64, "\"a\\\"b\""),
	Q("a\\b", 64, "a\\\\b"),
	Q("a\nb", 64, "a\\x0ab"),
	Q("\r", 64, "\\x0d"),
	Q("a\0b", 64, "a\\x00b"),
	Q("\t\x1f\x7f", 64, "\\x09\\x1f\\x7f"),
	Q("\x80\xc3\xa9\xff", 64, "\\x80\\xc3\\xa9\\xff"),
	Q("x\r\nsid=evil event=fake", 64,
	    "\"x\\x0d\\x0asid=evil event=fake\""),
	/* Truncation: exactly max, one past, far past, zero. */
	Q("abcdef", 6, "abcdef"),
	Q("abcdef", 5, "abcde..."),
	Q("abcdef", 1, "a..."),
	Q("abcdef", 0, "..."),
	Q("ab cd", 2, "ab..."),
	Q("a b c", 2, "\"a ...\""),
	Q("ab\n", 2, "ab..."),
	Q("ab\n", 3, "ab\\x0a"),
	Q("abcdef", SIZE_MAX, "abcdef"),
};

Test(log, quote_table)
{
	struct buf out = BUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(quote_cases); i++) {
		const struct quote_case *qc = &quote_cases[i];
		const char *got = log_quote(&out, qc->in, qc->len, qc->max);

		cr_assert_str_eq(got, qc->want, "case %zu", i);
		cr_assert_eq(out.len, strlen(qc->want), "case %zu", i);
		cr_assert_eq(got, buf_cstr(&out));
	}
	buf_release(&out);
}

Test(log, quote_worst_case_bound)
{
	struct buf out = BUF_INIT;
	unsigned char in[300];

	/* Every byte escaped, a space to force quotes, marker: 4*max+5. */
	memset(in, 0xff, sizeof(in));
	in[0] = ' ';
	log_quote(&out, in, sizeof(in), 100);
	cr_assert_eq(out.len, 1 + 1 + 99 * 4 + 3 + 1);
	cr_assert(out.len <= 4 * 100 + 5);
	for (size_t i = 0; i < out.len; i++)
		cr_assert(out.data[i] >= 0x20 && out.data[i] < 0x7f);
	buf_release(&out);
}

Test(log, quote_resets_and_handles_null)
{
	struct buf out = BUF_INIT;

	log_quote(&out, "first", 5, 64);
	cr_assert_str_eq(log_quote(&out, NULL, 0, 64), "\"\"");
	cr_assert_str_eq(log_quote_str(&out, NULL, 64), "\"\"");
	cr_assert_str_eq(log_quote_str(&out, "helo x", 64), "\"helo x\"");
	cr_assert_str_eq(log_quote_str(&out, "abcdef", 3), "abc...");
	cr_assert_str_eq(log_quote_str(&out, "abc", 3), "abc");
	cr_assert_str_eq(log_quote_str(&out, "abc", SIZE_MAX), "abc");
	buf_release(&out);
}

Test(log, quote_bounded_buffer_too_small)
{
	struct buf out;

	buf_init(&out, 8);
	cr_assert_str_eq(log_quote(&out, "abcdefghijkl", 12, 64), "...");
	/* Room is checked against the worst case, 4 * 1 + 5 = 9. */
	cr_assert_str_eq(log_quote(&out, "a", 1, 1), "...");
	buf_release(&out);
	buf_init(&out, 9);
	cr_assert_str_eq(log_quote(&out, "a", 1, 1), "a");
	buf_release(&out);
}

Test(log, quote_inside_log_line)
{
	struct capture c;
	struct buf q = BUF_INIT;
	char *body;

	capture_start(&c, LOG_INFO);
	log_msg(LOG_INFO, "s1", NULL, "event=helo name=%s",
	    log_quote(&q, "evil\r\nsid=x", 11, 64));
	body = capture_body(&c);
	cr_assert_str_eq(body, "sid=s1 event=helo name=\"evil\\x0d\\x0asid=x\"");
	free(body);
	buf_release(&q);
	capture_end(&c);
}
