/* Unit tests for msgbody: the memory threshold, spilling, reading back,
 * write buffering and I/O failures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "msgbody.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-msgbody-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(msgbody, .init = setup, .fini = teardown);

/* A pattern with no short period, so a misplaced chunk shows. */
static uint8_t
pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ i);
}

static uint8_t *
pattern_make(size_t len)
{
	uint8_t *p = xmalloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i);
	return p;
}

/* Append len pattern bytes in pieces of chunk (0: in one call). */
static void
append_pattern(struct msgbody *b, size_t len, size_t chunk)
{
	uint8_t *p = pattern_make(len);
	const char *err = NULL;

	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		cr_assert_eq(msgbody_append(b, p + off, n, &err), 0, "%s", err);
	}
	free(p);
}

/* Every offset read to the end, and again one byte at a time. */
static void
check_every_offset(const struct msgbody *b, size_t len)
{
	uint8_t *out = xmalloc(len + 16);

	for (size_t off = 0; off <= len; off++) {
		ssize_t n = msgbody_read(b, off, out, len + 16);

		cr_assert_eq(n, (ssize_t)(len - off), "offset %zu", off);
		for (size_t i = 0; i < (size_t)n; i++)
			cr_assert_eq(out[i], pattern(off + i), "offset %zu+%zu",
			    off, i);
		if (off < len) {
			cr_assert_eq(msgbody_read(b, off, out, 1), 1);
			cr_assert_eq(out[0], pattern(off));
		}
	}
	cr_assert_eq(msgbody_read(b, len + 1, out, 1), 0);
	cr_assert_eq(msgbody_read(b, UINT64_MAX, out, 1), 0);
	cr_assert_eq(msgbody_read(b, 0, out, 0), 0);
	free(out);
}

static size_t
dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The spill file, found through /proc: its descriptor, or -1. */
static int
spill_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[PATH_MAX], *path;
	ssize_t n;
	int fd = -1;

	cr_assert_not_null(d);
	while (fd == -1 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		free(path);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, dir, strlen(dir)) == 0)
			fd = atoi(de->d_name);
	}
	closedir(d);
	return fd;
}

struct threshold_case {
	size_t	limit;
	size_t	len;
	size_t	chunk;
	bool	spilled;
};

Test(msgbody, threshold_table)
{
	static const struct threshold_case cases[] = {
		{ 100, 0, 0, false },
		{ 100, 99, 0, false },
		{ 100, 100, 0, false },		/* at the limit: memory */
		{ 100, 100, 1, false },
		{ 100, 101, 0, true },		/* one past: file */
		{ 100, 101, 1, true },
		{ 100, 1000, 7, true },
		{ 0, 0, 0, false },		/* nothing to store */
		{ 0, 1, 0, true },		/* 0: always a file */
		{ 0, 5, 1, true },
		{ 10, 3000, 1, true },		/* file + buffer boundary */
		{ 10, 3000, 999, true },
		{ 4096, 4096, 4096, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct threshold_case *c = &cases[i];
		struct msgbody *b = msgbody_new(c->limit, dir);

		cr_assert_not(msgbody_spilled(b));
		append_pattern(b, c->len, c->chunk);
		cr_assert_eq(msgbody_size(b), c->len, "case %zu", i);
		cr_assert_eq(msgbody_spilled(b), c->spilled, "case %zu", i);
		check_every_offset(b, c->len);
		/* The file has no name: nothing appears in the directory. */
		cr_assert_eq(dir_entries(), 0, "case %zu", i);
		msgbody_destroy(&b);
		cr_assert_null(b);
		cr_assert_eq(spill_fd(), -1, "case %zu: file left open", i);
	}
}

/* Sizes around the write buffer, in pieces that straddle its edge. */
Test(msgbody, large_bodies_read_back_exactly)
{
	static const size_t lens[] = {
		MSGBODY_WBUF_SIZE - 1, MSGBODY_WBUF_SIZE, MSGBODY_WBUF_SIZE + 1,
		3 * MSGBODY_WBUF_SIZE + 17, 1024 * 1024 + 3,
	};
	static const size_t chunks[] = { 0, 1000, MSGBODY_WBUF_SIZE - 1,
	    MSGBODY_WBUF_SIZE, MSGBODY_WBUF_SIZE + 1, 200000 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(chunks); j++) {
			struct msgbody *b = msgbody_new(1000, dir);
			uint8_t *out = xmalloc(lens[i]);
			uint8_t *want = pattern_make(lens[i]);

			append_pattern(b, lens[i], chunks[j]);
			cr_assert(msgbody_spilled(b));
			cr_assert_eq(msgbody_size(b), lens[i]);
			cr_assert_eq(msgbody_read(b, 0, out, lens[i]),
			    (ssize_t)lens[i]);
			cr_assert_eq(memcmp(out, want, lens[i]), 0,
			    "len %zu chunk %zu", lens[i], chunks[j]);
			/* Windows across the file/buffer boundary. */
			for (size_t off = 0; off < lens[i]; off += 4093) {
				size_t n = lens[i] - off < 9000 ?
				    lens[i] - off : 9000;

				cr_assert_eq(msgbody_read(b, off, out, 9000),
				    (ssize_t)n);
				cr_assert_eq(memcmp(out, want + off, n), 0);
			}
			free(out);
			free(want);
			msgbody_destroy(&b);
		}
	}
}

Test(msgbody, spill_file_is_private_and_buffered)
{
	struct msgbody *b = msgbody_new(10, dir);
	const char *err;
	struct stat st;
	int fd, flags;

	append_pattern(b, 10, 0);
	cr_assert_eq(spill_fd(), -1);
	append_pattern(b, 11, 0);
	cr_assert(msgbody_spilled(b));
	fd = spill_fd();
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(st.st_nlink, 0);
	flags = fcntl(fd, F_GETFD);
	cr_assert(flags & FD_CLOEXEC);
	/* The 10 octets from memory went out; the rest waits in the buffer. */
	cr_assert_eq(st.st_size, 10);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(msgbody_append(b, "x", 1, &err), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 10, "tiny appends must not each write()");
	cr_assert_eq(msgbody_size(b), 1021);
	msgbody_destroy(&b);
}

Test(msgbody, missing_spill_dir_fails_only_when_spilling)
{
	char *missing = xasprintf("%s/no/such/dir", dir);
	struct msgbody *b = msgbody_new(8, missing);
	const char *err = NULL;
	char out[8];

	cr_assert_eq(msgbody_append(b, "12345678", 8, &err), 0);
	cr_assert_eq(msgbody_append(b, "9", 1, &err), -1);
	cr_assert_not_null(err);
	cr_assert(strstr(err, missing) != NULL, "%s", err);
	cr_assert(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
	/* Broken for good: a later append fails without trying again. */
	err = NULL;
	cr_assert_eq(msgbody_append(b, "", 0, &err), -1);
	cr_assert_not_null(err);
	errno = 0;
	cr_assert_eq(msgbody_read(b, 0, out, sizeof(out)), -1);
	cr_assert_eq(errno, EIO);
	msgbody_destroy(&b);
	free(missing);
}

Test(msgbody, spill_dir_that_is_a_file_fails)
{
	char *file = xasprintf("%s/plain", dir);
	int fd = open(file, O_CREAT | O_WRONLY, 0600);
	struct msgbody *b;
	const char *err = NULL;

	cr_assert_geq(fd, 0);
	close(fd);
	b = msgbody_new(0, file);
	cr_assert_eq(msgbody_append(b, "a", 1, &err), -1);
	cr_assert(strstr(err, strerror(ENOTDIR)) != NULL, "%s", err);
	msgbody_destroy(&b);
	free(file);
}

/* A full disk, simulated with a file size limit: EFBIG instead of
 * ENOSPC, the same path. */
Test(msgbody, write_failure_is_reported_and_sticky)
{
	struct rlimit rl = { 100 * 1024, 100 * 1024 };
	static const size_t chunks[] = { 1, 4096, 300 * 1024 };

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		struct msgbody *b = msgbody_new(0, dir);
		uint8_t *p = pattern_make(chunks[i]);
		const char *err = NULL;
		size_t total = 0;
		int rc = 0;

		while (total < 1024 * 1024 &&
		    (rc = msgbody_append(b, p, chunks[i], &err)) == 0)
			total += chunks[i];
		cr_assert_eq(rc, -1, "chunk %zu: no failure", chunks[i]);
		cr_assert(strstr(err, strerror(EFBIG)) != NULL, "%s", err);
		cr_assert_leq(total, 100 * 1024 + MSGBODY_WBUF_SIZE);
		err = NULL;
		cr_assert_eq(msgbody_append(b, "x", 1, &err), -1);
		cr_assert(strstr(err, strerror(EFBIG)) != NULL);
		msgbody_destroy(&b);
		free(p);
	}
}

Test(msgbody, reads_keep_no_file_position)
{
	/* pread() keeps no file position: interleaved readers agree. */
	struct msgbody *b = msgbody_new(0, dir);
	uint8_t x[3], y[3];

	append_pattern(b, 200000, 333);
	cr_assert_eq(msgbody_read(b, 150000, x, 3), 3);
	cr_assert_eq(msgbody_read(b, 5, y, 3), 3);
	cr_assert_eq(msgbody_read(b, 150000, y, 3), 3);
	cr_assert_eq(memcmp(x, y, 3), 0);
	cr_assert_eq(x[0], pattern(150000));
	msgbody_destroy(&b);
}

Test(msgbody, destroy_accepts_null)
{
	struct msgbody *b = NULL;

	msgbody_destroy(NULL);
	msgbody_destroy(&b);
	b = msgbody_new(1, NULL);
	cr_assert_eq(msgbody_size(b), 0);
	msgbody_destroy(&b);
	cr_assert_null(b);
}
