/*
 * libFuzzer target for src/lib/mime.c. Any input must parse; the tree
 * must stay inside the message, children inside their parent's body, in
 * order and without overlap, within MIME_PARTS_MAX and MIME_DEPTH_MAX,
 * with every string field present and lines matching the body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct mime_part *p, size_t len)
{
	const struct mime_part *c;
	size_t n = 1, prev_end, i;

	if (p->depth > MIME_DEPTH_MAX || p->hdr_off > len ||
	    p->hdr_len > len - p->hdr_off ||
	    p->body_off != p->hdr_off + p->hdr_len ||
	    p->body_len > len - p->body_off)
		abort();
	if (p->type == NULL || p->subtype == NULL || p->encoding == NULL ||
	    (p->param_count > 0 && p->params == NULL))
		abort();
	if (p->lines > p->body_len || (p->body_len > 0) != (p->lines > 0))
		abort();
	for (i = 0; i < p->param_count; i++)
		if (p->params[i].name == NULL || p->params[i].value == NULL)
			abort();
	prev_end = p->body_off;
	for (c = p->children; c != NULL; c = c->next) {
		if (c->parent != p || c->depth != p->depth + 1 ||
		    c->hdr_off < prev_end ||
		    c->body_off + c->body_len > p->body_off + p->body_len)
			abort();
		prev_end = c->body_off + c->body_len;
		n += walk(c, len);
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_part *root = NULL;
	const char *error = NULL;
	struct buf v = BUF_INIT;
	char *copy = xmalloc(size + 1);
	size_t n;

	/* A copy of exactly size bytes so that reading past it is caught. */
	memcpy(copy, data, size);
	if (mime_parse(copy, size, &root, &error) != 0 || root == NULL)
		abort();
	n = walk(root, size);
	if (n > MIME_PARTS_MAX || n != mime_part_count(root))
		abort();
	if (mime_header_get(root, copy, "Content-Type", &v) == 1 &&
	    v.len > root->hdr_len)
		abort();
	buf_release(&v);
	mime_free(&root);
	free(copy);
	return 0;
}
