/*
 * libFuzzer target for listener_parse(): any spec either parses or fails
 * with a message; a parsed listener formats to a spec that parses back to
 * an equal listener.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listener l, back;
	const char *err = NULL;
	char *spec;

	if (listener_parse((const char *)data, size, &l, &err) == -1) {
		if (err == NULL)
			abort();
		return 0;
	}
	spec = listener_format(&l);
	if (listener_parse(spec, strlen(spec), &back, &err) == -1) {
		fprintf(stderr, "\"%s\" does not parse: %s\n", spec, err);
		abort();
	}
	if (!listener_equal(&l, &back)) {
		fprintf(stderr, "\"%s\" parses to another listener\n", spec);
		abort();
	}
	listener_clear(&back);
	listener_clear(&l);
	free(spec);
	return 0;
}
