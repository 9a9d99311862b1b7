/*
 * libFuzzer target for config_parse(): any input either parses or fails
 * with an error naming the file; whatever parses prints (all keys, and
 * only the changed ones) into text that parses back to an equal config.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const struct config *cfg, bool all)
{
	struct config back;
	const char *err = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	config_print(cfg, f, all);
	fclose(f);
	config_init(&back);
	if (config_parse(&back, "printed", text, len, &err) != 0) {
		fprintf(stderr, "printed text does not parse: %s\n%s", err,
		    text);
		abort();
	}
	if (!config_equal(cfg, &back)) {
		fprintf(stderr, "round trip differs:\n%s", text);
		abort();
	}
	config_free(&back);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	const char *err = NULL;

	config_init(&cfg);
	if (config_parse(&cfg, "fuzz.conf", (const char *)data, size,
	    &err) == 0) {
		round_trip(&cfg, true);
		round_trip(&cfg, false);
	} else if (err == NULL || strncmp(err, "fuzz.conf:", 10) != 0) {
		abort();
	}
	config_free(&cfg);
	return 0;
}
