/* imap_grammar: see imap_grammar.c. */
#ifndef SLUICE_TEST_IMAP_GRAMMAR_H
#define SLUICE_TEST_IMAP_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Does s parse whole as an RFC 3501 body (ext: BODYSTRUCTURE with
 * extension data, else BODY) or, with envelope, as an ENVELOPE? When not,
 * *why_r says what was expected at *offset_r.
 */
bool	 imap_grammar_ok(const char *s, bool ext, bool envelope,
	    const char **why_r, size_t *offset_r);

#endif
