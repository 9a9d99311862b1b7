/*
 * policy_lex: the rule language's tokens, the lexer that cuts a file into
 * statements, and the cursor the statement parsers walk with. Internal to
 * src/policy (parse.c); not part of the engine's interface.
 */
#ifndef SLUICE_POLICY_LEX_H
#define SLUICE_POLICY_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "util.h"

#define SHOW_MAX		40	/* token text quoted in errors */

enum tok_type { T_WORD, T_STRING, T_COMMA, T_LBRACK, T_RBRACK };

struct tok {
	enum tok_type	 type;
	const char	*s;	/* T_STRING: between the quotes, undecoded */
	size_t		 len;
	unsigned int	 line;
};

struct toks {
	struct tok	*v;
	size_t		 n;
	size_t		 cap;
};

struct lexer {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	unsigned int	 line;
};

/* One statement's tokens and where the parser is among them. */
struct cur {
	const struct tok *v;
	size_t		 n;
	size_t		 i;
	unsigned int	 line;	/* of the statement's first token */
};

struct pstate {
	struct policy	*p;
	policy_include_fn inc;
	void		*inc_ctx;
	const char	*stack[POLICY_INCLUDE_DEPTH + 1];	/* file names */
	int		 depth;
	const char	*name;		/* the file being parsed */
};

/* "file:line: message" into the parse error; returns -1. */
int	 perr(const struct pstate *st, unsigned int line, const char *fmt,
	    ...) PRINTF_LIKE(3, 4);

const char *tok_show(const struct tok *t, char *out, size_t size);
char	 *tok_text(const struct tok *t);
bool	 tok_is(const struct tok *t, const char *word);
int	 text_check(const struct pstate *st, const char *s, size_t len);
int	 lex_statement(const struct pstate *st, struct lexer *lx,
	    struct toks *tk);
const struct tok *cur_peek(const struct cur *c);
const struct tok *cur_next(struct cur *c);
bool	 cur_accept(struct cur *c, const char *word);
unsigned int cur_line(const struct cur *c);
int	 cur_expected(const struct pstate *st, const struct cur *c,
	    const char *what);
int	 cur_expect(const struct pstate *st, struct cur *c, const char *word);
int	 cur_end(const struct pstate *st, const struct cur *c,
	    const char *after);

#endif
