/*
 * Unit tests for src/lib/mime.c: a corpus of tricky messages, each
 * checked as a whole tree (type, header and body offsets, line counts)
 * so that an off-by-one in a boundary or header end shows.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "buf.h"
#include "mime.h"
#include "util.h"

/* One line per part, depth-first: depth type/subtype h=off+len b=off+len
 * l=lines and T/N for the truncated / no-close flags. */
static void
dump_part(const struct mime_part *p, struct buf *out)
{
	const struct mime_part *c;

	buf_printf(out, "%u %s/%s h=%zu+%zu b=%zu+%zu l=%zu%s%s\n", p->depth,
	    p->type, p->subtype, p->hdr_off, p->hdr_len, p->body_off,
	    p->body_len, p->lines,
	    (p->flags & MIME_PART_F_TRUNCATED) ? " T" : "",
	    (p->flags & MIME_PART_F_NO_CLOSE) ? " N" : "");
	for (c = p->children; c != NULL; c = c->next)
		dump_part(c, out);
}

static char *
parse_dump(const char *msg, size_t len)
{
	struct mime_part *root = NULL;
	const char *error = NULL;
	struct buf out = BUF_INIT;

	cr_assert_eq(mime_parse(msg, len, &root, &error), 0);
	cr_assert_not_null(root);
	dump_part(root, &out);
	cr_assert_eq(mime_part_count(root), root->children == NULL ? 1 :
	    mime_part_count(root));
	mime_free(&root);
	cr_assert_null(root);
	return buf_steal(&out);
}

struct corpus_case {
	const char	*name;
	const char	*msg;
	const char	*tree;
};

static const struct corpus_case corpus[] = {
	{ "simple", "Subject: hi\r\n\r\nHello\r\nWorld\r\n",
	  "0 text/plain h=0+15 b=15+14 l=2\n" },
	{ "empty", "", "0 text/plain h=0+0 b=0+0 l=0\n" },
	{ "header only", "Subject: hi\r\nFrom: a@b\r\n",
	  "0 text/plain h=0+24 b=24+0 l=0\n" },
	{ "empty body", "Subject: hi\r\n\r\n",
	  "0 text/plain h=0+15 b=15+0 l=0\n" },
	{ "no final newline", "Subject: hi\n\nabc",
	  "0 text/plain h=0+13 b=13+3 l=1\n" },
	{ "alternative",
	  "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
	  "preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "\r\nplain\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
	  "--b1--\r\nepilogue\r\n",
	  "0 multipart/alternative h=0+54 b=54+127 l=11\n"
	  "1 text/plain h=70+43 b=113+5 l=1\n"
	  "1 text/html h=126+27 b=153+8 l=1\n" },
	{ "bare LF alternative",
	  "Content-Type: multipart/alternative; boundary=b1\n\n"
	  "--b1\nContent-Type: text/plain\n\nplain\n"
	  "--b1\n\nhtml\n--b1--\n",
	  "0 multipart/alternative h=0+50 b=50+55 l=8\n"
	  "1 text/plain h=55+26 b=81+5 l=1\n"
	  "1 text/plain h=92+1 b=93+4 l=1\n" },
	{ "missing close",
	  "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
	  "--zz\r\n\r\none\r\n--zz\r\n\r\ntwo\r\n",
	  "0 multipart/mixed h=0+46 b=46+26 l=6 N\n"
	  "1 text/plain h=52+2 b=54+3 l=1\n"
	  "1 text/plain h=65+2 b=67+5 l=1\n" },
	{ "boundary prefix trap",
	  "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
	  "--a\r\nContent-Type: multipart/mixed; boundary=ab\r\n\r\n"
	  "--ab\r\n\r\nin\r\n--ab--\r\n--a--x\r\n--a \t\r\n\r\nlast\r\n--a--\r\n",
	  "0 multipart/mixed h=0+45 b=45+101 l=12\n"
	  "1 multipart/mixed h=50+46 b=96+26 l=5\n"
	  "2 text/plain h=102+2 b=104+2 l=1\n"
	  "1 text/plain h=131+2 b=133+4 l=1\n" },
	{ "rfc822 nested",
	  "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n",
	  "0 message/rfc822 h=0+32 b=32+21 l=3\n"
	  "1 text/plain h=32+15 b=47+6 l=1\n" },
	{ "base64 rfc822 is a leaf",
	  "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: "
	  "base64\r\n\r\nU3ViamVjdDogaW4NCg0K\r\n",
	  "0 message/rfc822 h=0+67 b=67+22 l=1\n" },
	{ "digest default",
	  "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n"
	  "\nhi\n--d--\n",
	  "0 multipart/digest h=0+44 b=44+26 l=6\n"
	  "1 message/rfc822 h=48+1 b=49+14 l=3\n"
	  "2 text/plain h=49+12 b=61+2 l=1\n" },
	{ "no boundary param",
	  "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nA\r\n",
	  "0 multipart/mixed h=0+33 b=33+10 l=3\n" },
	{ "header line without colon",
	  "garbage line\r\nContent-Type: TEXT/HTML\r\n\r\nx",
	  "0 text/html h=0+41 b=41+1 l=1\n" },
};

Test(mime, corpus)
{
	size_t i;
	char *got;

	for (i = 0; i < ARRAY_SIZE(corpus); i++) {
		got = parse_dump(corpus[i].msg, strlen(corpus[i].msg));
		cr_expect_str_eq(got, corpus[i].tree, "%s:\n%s", corpus[i].name,
		    got);
		free(got);
	}
}

/* Each case again, fed as every prefix: truncation anywhere must still
 * give a tree inside the bytes it was given. */
static void
check_bounds(const struct mime_part *p, size_t len)
{
	const struct mime_part *c;

	cr_assert_leq(p->hdr_off + p->hdr_len, len);
	cr_assert_eq(p->body_off, p->hdr_off + p->hdr_len);
	cr_assert_leq(p->body_off + p->body_len, len);
	for (c = p->children; c != NULL; c = c->next) {
		cr_assert_geq(c->hdr_off, p->body_off);
		cr_assert_leq(c->body_off + c->body_len,
		    p->body_off + p->body_len);
		check_bounds(c, len);
	}
}

Test(mime, corpus_prefixes)
{
	struct mime_part *root;
	const char *error;
	size_t i, n, len;
	char *copy;

	for (i = 0; i < ARRAY_SIZE(corpus); i++) {
		len = strlen(corpus[i].msg);
		for (n = 0; n <= len; n++) {
			/* An exact-size copy lets ASan catch reads past n. */
			copy = xmalloc(n + 1);
			memcpy(copy, corpus[i].msg, n);
			cr_assert_eq(mime_parse(copy, n, &root, &error), 0);
			check_bounds(root, n);
			mime_free(&root);
			free(copy);
		}
	}
}

Test(mime, null_message)
{
	struct mime_part *root = (struct mime_part *)1;
	const char *error = NULL;

	cr_assert_eq(mime_parse(NULL, 5, &root, &error), -1);
	cr_assert_null(root);
	cr_assert_str_eq(error, "no message");
	cr_assert_eq(mime_parse(NULL, 0, &root, &error), 0);
	cr_assert_eq(root->body_len, 0);
	mime_free(&root);
	mime_free(&root);
	mime_free(NULL);
}

Test(mime, attachment_rfc2231)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=\"=_x\"\r\n\r\n"
	    "--=_x\r\nContent-Type: text/plain; charset=\"UTF-8\" (comment)\r\n"
	    "\r\nhello\r\n--=_x\r\n"
	    "Content-Type: application/pdf;\r\n"
	    "\tname*0*=utf-8''r%C3%A9sum;\r\n"
	    "\tname*1=\"e .pdf\"\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n"
	    "Content-ID: <id1@x>\r\n"
	    "Content-Description: the CV\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename=\"plain.pdf\"; filename*=UTF-8'en'%E2%82%AC.pdf\r\n"
	    "\r\nJVBERi0=\r\n--=_x--\r\n";
	struct mime_part *root, *text, *att;
	const struct mime_param *p;
	const char *error;

	cr_assert_eq(mime_parse(msg, sizeof(msg) - 1, &root, &error), 0);
	cr_assert_eq(root->child_count, 2);
	text = root->children;
	att = text->next;
	cr_assert_str_eq(mime_part_param(text, "charset")->value, "UTF-8");
	cr_assert_str_eq(att->type, "application");
	cr_assert_str_eq(att->subtype, "pdf");
	p = mime_part_param(att, "NAME");
	cr_assert_not_null(p);
	cr_assert_str_eq(p->value, "r\xc3\xa9sume .pdf");
	cr_assert_eq(p->flags, 0);
	cr_assert_str_eq(att->encoding, "base64");
	cr_assert_str_eq(att->id, "<id1@x>");
	cr_assert_str_eq(att->description, "the CV");
	cr_assert_str_eq(att->disposition, "attachment");
	cr_assert_eq(att->disp_param_count, 1);
	p = mime_part_disp_param(att, "filename");
	cr_assert_str_eq(p->value, "\xe2\x82\xac.pdf");
	cr_assert_str_eq(text->encoding, "7bit");
	cr_assert_null(text->id);
	cr_assert_null(text->disposition);
	cr_assert_eq(att->body_len, 8);
	cr_assert_eq(memcmp(msg + att->body_off, "JVBERi0=", 8), 0);
	mime_free(&root);
}

struct param_case {
	const char	*ctype;
	const char	*name;
	const char	*value;		/* NULL: absent */
	unsigned int	 flags;
};

static const struct param_case param_cases[] = {
	{ "text/plain; charset=us-ascii (Plain text)", "charset",
	  "us-ascii", 0 },
	{ "text/plain; name=\"a\\\"b\"", "name", "a\"b", 0 },
	{ "text/plain; name=caf\xc3\xa9.txt", "name", "caf\xc3\xa9.txt", 0 },
	{ "text/plain; name=x; name=y", "name", "x", 0 },
	{ "text/plain; name*=iso-8859-1'fr'caf%E9", "name",
	  "iso-8859-1'fr'caf%E9", MIME_PARAM_F_RAW2231 },
	{ "text/plain; name*0*=iso-8859-1''a%E9; name*1=\"b c\"", "name",
	  "iso-8859-1''a%E9b%20c", MIME_PARAM_F_RAW2231 },
	{ "text/plain; name*=utf-8''%FF", "name", "utf-8''%FF",
	  MIME_PARAM_F_RAW2231 },
	{ "text/plain; name*=us-ascii''a%00b", "name", "us-ascii''a%00b",
	  MIME_PARAM_F_RAW2231 },
	{ "text/plain; name*=''a%20b%2", "name", "a b%2", 0 },
	{ "text/plain; name*=noquotes%41", "name", "noquotesA", 0 },
	{ "text/plain; name*0=a; name*2=c", "name", "a", 0 },
	{ "text/plain; name*1=b", "name", "", 0 },
	{ "text/plain; name*01=b; name*0=a", "name", "a", 0 },
	{ "text/plain; =x; ;; junk; charset=utf-8", "charset", "utf-8", 0 },
	{ "text/plain; charset", "charset", NULL, 0 },
	{ "text/plain; name=\"unterminated", "name", "unterminated", 0 },
	{ "(c) text (d) / (e) html; a=b", "a", "b", 0 },
	{ "text", "charset", "us-ascii", 0 },
	{ "", "charset", "us-ascii", 0 },
};

Test(mime, params)
{
	const struct param_case *pc;
	const struct mime_param *p;
	struct mime_part *root;
	const char *error;
	char *msg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(param_cases); i++) {
		pc = &param_cases[i];
		msg = xasprintf("Content-Type: %s\r\n\r\n", pc->ctype);
		cr_assert_eq(mime_parse(msg, strlen(msg), &root, &error), 0);
		p = mime_part_param(root, pc->name);
		if (pc->value == NULL)
			cr_expect_null(p, "%s", pc->ctype);
		else {
			cr_assert_not_null(p, "%s", pc->ctype);
			cr_expect_str_eq(p->value, pc->value, "%s", pc->ctype);
			cr_expect_eq(p->flags, pc->flags, "%s", pc->ctype);
		}
		mime_free(&root);
		free(msg);
	}
}

Test(mime, default_type_flag)
{
	struct mime_part *root;
	const char *error;
	static const char bad[] = "Content-Type: text\r\n\r\n";
	static const char good[] = "Content-Type: text/x\r\n\r\n";

	cr_assert_eq(mime_parse(bad, strlen(bad), &root, &error), 0);
	cr_assert(root->flags & MIME_PART_F_DEFAULT_TYPE);
	mime_free(&root);
	cr_assert_eq(mime_parse(good, strlen(good), &root, &error), 0);
	cr_assert_not(root->flags & MIME_PART_F_DEFAULT_TYPE);
	cr_assert_eq(root->param_count, 0);
	mime_free(&root);
}

/* n multiparts, each holding the next, boundary "bK" at level K. */
static char *
nested_message(size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%zu"
		    "\r\n\r\n--b%zu\r\n", i, i);
	buf_append_str(&b, "\r\ncore\r\n");
	for (i = n; i > 0; i--)
		buf_printf(&b, "--b%zu--\r\n", i - 1);
	return buf_steal(&b);
}

Test(mime, depth_bomb)
{
	struct mime_part *root, *p;
	const char *error;
	char *msg = nested_message(30);
	unsigned int d = 0;

	cr_assert_eq(mime_parse(msg, strlen(msg), &root, &error), 0);
	for (p = root; p->children != NULL; p = p->children) {
		cr_assert_eq(p->child_count, 1);
		cr_assert_eq(p->children->depth, ++d);
		cr_assert_not(p->flags & MIME_PART_F_TRUNCATED);
	}
	cr_assert_eq(p->depth, MIME_DEPTH_MAX);
	cr_assert(p->flags & MIME_PART_F_TRUNCATED);
	cr_assert_str_eq(p->type, "multipart");
	cr_assert_eq(mime_part_count(root), MIME_DEPTH_MAX + 1);
	/* The opaque leaf keeps all the rest as its body. */
	cr_assert_eq(p->body_off + p->body_len,
	    (size_t)(strstr(msg, "\r\n--b19--") - msg));
	mime_free(&root);
	free(msg);

	/* Exactly at the limit nothing is cut. */
	msg = nested_message(MIME_DEPTH_MAX);
	cr_assert_eq(mime_parse(msg, strlen(msg), &root, &error), 0);
	cr_assert_eq(mime_part_count(root), MIME_DEPTH_MAX + 1);
	for (p = root; p->children != NULL; p = p->children)
		cr_assert_not(p->flags & MIME_PART_F_TRUNCATED);
	cr_assert_str_eq(p->type, "text");
	mime_free(&root);
	free(msg);
}

static void
many_parts(size_t n, size_t *count_r, bool *truncated_r)
{
	struct buf b = BUF_INIT;
	struct mime_part *root;
	const char *error;
	size_t i;

	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (i = 0; i < n; i++)
		buf_printf(&b, "--x\n\n%zu\n", i);
	buf_append_str(&b, "--x--\n");
	cr_assert_eq(mime_parse(b.data, b.len, &root, &error), 0);
	*count_r = mime_part_count(root);
	*truncated_r = (root->flags & MIME_PART_F_TRUNCATED) != 0;
	if (n > 0) {
		/* The last child kept is the one its position says. */
		struct mime_part *c = root->children;

		while (c->next != NULL)
			c = c->next;
		char idx[32];
		int w = snprintf(idx, sizeof(idx), "%zu", *count_r - 2);

		cr_assert_eq(c->body_len, (size_t)w);
		cr_assert_eq(memcmp(b.data + c->body_off, idx, (size_t)w), 0);
	}
	mime_free(&root);
	buf_release(&b);
}

Test(mime, part_limit)
{
	size_t count;
	bool trunc;

	many_parts(MIME_PARTS_MAX - 1, &count, &trunc);
	cr_assert_eq(count, MIME_PARTS_MAX);
	cr_assert_not(trunc);
	many_parts(MIME_PARTS_MAX, &count, &trunc);
	cr_assert_eq(count, MIME_PARTS_MAX);
	cr_assert(trunc);
	many_parts(1001, &count, &trunc);
	cr_assert_eq(count, MIME_PARTS_MAX);
	cr_assert(trunc);
}

struct hdr_case {
	const char	*name;
	int		 rc;
	const char	*value;
};

Test(mime, header_get)
{
	static const char msg[] =
	    "X-8bit: caf\xc3\xa9\r\n"
	    "no colon here\r\n"
	    " continuation of nothing: x\r\n"
	    "Subject : folded\r\n\tvalue  \r\n"
	    "Empty:\r\n"
	    "X-Sub: second\r\n"
	    "\r\n"
	    "Body: not a header\r\n";
	static const struct hdr_case cases[] = {
		{ "subject", 1, "folded\tvalue" },
		{ "X-8BIT", 1, "caf\xc3\xa9" },
		{ "Empty", 1, "" },
		{ "X-Sub", 1, "second" },
		{ "Sub", 0, "" },
		{ "no colon here", 0, "" },
		{ "continuation of nothing", 0, "" },
		{ "Body", 0, "" },
		{ "", 0, "" },
	};
	struct mime_part *root;
	const char *error;
	struct buf v = BUF_INIT, small = BUF_INIT;
	size_t i;

	cr_assert_eq(mime_parse(msg, sizeof(msg) - 1, &root, &error), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_append_str(&v, "stale");
		cr_expect_eq(mime_header_get(root, msg, cases[i].name, &v),
		    cases[i].rc, "%s", cases[i].name);
		cr_expect_str_eq(buf_cstr(&v), cases[i].value, "%s",
		    cases[i].name);
	}
	buf_init(&small, 5);
	cr_assert_eq(mime_header_get(root, msg, "X-Sub", &small), -1);
	cr_assert_eq(small.len, 0);
	buf_init(&small, 7);
	cr_assert_eq(mime_header_get(root, msg, "X-Sub", &small), 1);
	cr_assert_str_eq(buf_cstr(&small), "second");
	buf_release(&small);
	buf_release(&v);
	mime_free(&root);
}
