/*
 * util: allocation that never returns NULL, fatal errors, and the list of
 * C library functions the project refuses to use.
 *
 * Contract: x*alloc() abort the process with a message on exhaustion, so
 * callers never check for NULL. Include this header after every system
 * header: it poisons strcpy, strcat, sprintf, vsprintf and gets, and a
 * later use of any of them fails to compile.
 */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray: realloc for n * size with overflow check. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf: a new string formatted like printf. */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* fatal: print "sluice: <message>" to stderr and exit(EXIT_FAILURE). */
void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2) NORETURN;

/* strlcpy-alike: copies at most size-1 bytes, always terminates when
 * size > 0; returns strlen(src) so truncation is visible. */
size_t str_copy(char *dst, const char *src, size_t size);

/* ASCII case folding, whatever the locale (tolower() follows it). */
static inline int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* A hexadecimal digit's value (either case), or -1. */
static inline int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Are a and b (n octets each) equal, ASCII letters in any case? */
bool mem_case_equal(const void *a, const void *b, size_t n);

/* Constant-time comparison of two byte strings of equal length. */
int mem_equal_ct(const void *a, const void *b, size_t len);

/* Wipe memory holding a secret so the compiler cannot skip it. */
void mem_wipe(void *p, size_t len);

#if defined(__GNUC__) && !defined(SLUICE_NO_POISON)
#pragma GCC poison strcpy strcat sprintf vsprintf gets
#endif

#endif
