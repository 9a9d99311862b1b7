/*
 * libFuzzer target for relay_parse(): any spec either parses or fails
 * with a message; a parsed relay formats to a spec that parses back to an
 * equal relay, and its copy is equal too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay r, back, copy;
	const char *err = NULL;
	char *spec;

	if (relay_parse((const char *)data, size, &r, &err) == -1) {
		if (err == NULL)
			abort();
		return 0;
	}
	if (r.name == NULL || r.host == NULL || r.policy == NULL ||
	    r.port == 0)
		abort();
	spec = relay_format(&r);
	if (relay_parse(spec, strlen(spec), &back, &err) == -1) {
		fprintf(stderr, "\"%s\" does not parse: %s\n", spec, err);
		abort();
	}
	if (!relay_equal(&r, &back)) {
		fprintf(stderr, "\"%s\" parses to another relay\n", spec);
		abort();
	}
	relay_copy(&copy, &r);
	if (!relay_equal(&copy, &r))
		abort();
	relay_clear(&copy);
	relay_clear(&back);
	relay_clear(&r);
	free(spec);
	return 0;
}
