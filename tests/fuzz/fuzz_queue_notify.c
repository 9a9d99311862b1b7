/*
 * Fuzz target for queue_notify_parse(): the stored DSN NOTIFY text that
 * the delivery side reads back. Whatever parses must format back to an
 * equivalent value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1), text[QUEUE_NOTIFY_TEXT_MAX];
	const char *error;
	unsigned bits, again;

	memcpy(copy, data, size);
	if (queue_notify_parse(copy, size, &bits, &error) == 0) {
		if (queue_notify_format(bits, text, sizeof(text)) != 0)
			abort();
		if (queue_notify_parse(text, strlen(text), &again, &error) != 0 ||
		    again != bits)
			abort();
	}
	free(copy);
	return 0;
}
