/* Unit tests for the mailbox store over a real mail.db: delivery and its
 * idempotence, quotas, flags and CONDSTORE, expunge and body reference
 * counts, copy and move, mailbox management, sections, search and sort. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "db.h"
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/sluice-test-store-XXXXXX";
static char path[256];
static struct store *st;

static void
setup(void)
{
	const char *err = NULL;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mail.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE, &st, &err), STORE_OK,
	    "%s", err);
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	store_close(&st);
	cr_assert_null(st);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- messages used below ------------------------------------------ */

static const char simple_msg[] =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Hello there\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hello world, this is a short note.\r\n"
    "See you tomorrow.\r\n";

/* Subject "Grüße aus Köln"; part 1 says "The secret word is
 * pineapple." in base64; part 2 is an attachment. */
static const char multi_msg[] =
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Cc: Carol <Carol@Example.org>\r\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
    "X-Tracking: 50%_off_sale\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "VGhlIHNlY3JldCB3b3JkIGlzIHBpbmVhcHBsZS4NCkFuZCB0aGUgc2Vjb25kIGxp"
    "bmUgbWVudGlvbnMgWndldHNjaGdlbmt1Y2hlbi4NCg==\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"doc.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"doc.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQgZmFrZSBhdHRhY2htZW50IGJ5dGVz\r\n"
    "--b1--\r\n";

static const char part2_mime[] =
    "Content-Type: application/pdf; name=\"doc.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"doc.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n";

/* Part 2 is a forwarded message that is not multipart. */
static const char fwd_msg[] =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Fwd: report\r\n"
    "Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
    "\r\n"
    "--xx\r\n"
    "\r\n"
    "See below.\r\n"
    "--xx\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Dave <dave@example.net>\r\n"
    "Subject: report\r\n"
    "\r\n"
    "Inner body text.\r\n"
    "--xx--\r\n";

static const char prefix[] =
    "Return-Path: <alice@example.org>\r\n"
    "Delivered-To: bob@example.org\r\n";

/* ---- helpers ------------------------------------------------------- */

/* One integer from an SQL query on a connection of its own. */
static int64_t
sql_int(const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	int64_t v;

	cr_assert_eq(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "%s", sql);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(h);
	return v;
}

static void
rows_check(int64_t bodies, int64_t messages)
{
	cr_assert_eq(sql_int("SELECT count(*) FROM bodies"), bodies);
	cr_assert_eq(sql_int("SELECT count(*) FROM messages"), messages);
	/* Everything kept with a body goes with it. */
	cr_assert_eq(sql_int("SELECT count(*) FROM body_info"), bodies);
	cr_assert_eq(sql_int("SELECT count(*) FROM body_fts"), bodies);
	cr_assert_eq(sql_int("SELECT count(DISTINCT body_id) FROM parts"),
	    bodies);
	cr_assert_eq(sql_int("SELECT count(*) FROM parts WHERE body_id"
	    " NOT IN (SELECT id FROM bodies)"), 0);
	cr_assert_eq(sql_int("SELECT count(*) FROM bodies WHERE refs <>"
	    " (SELECT count(*) FROM messages m WHERE m.body_id = bodies.id)"),
	    0);
	/* The byte counts the quota reads follow every change. */
	cr_assert_eq(sql_int("SELECT count(*) FROM mailboxes b WHERE bytes <>"
	    " (SELECT coalesce(sum(m.size), 0) FROM messages m"
	    " WHERE m.mailbox_id = b.id)"), 0);
}

/* Deliver msg to owner's INBOX; returns the UID. */
static uint32_t
deliver(const char *qid, const char *owner, const char *msg)
{
	struct store_rcpt r = { .owner = owner, .prefix = prefix };
	const char *err = NULL;

	cr_assert_eq(store_deliver(st, qid, msg, strlen(msg), 1700000000, &r,
	    1, &err), STORE_OK, "%s", err);
	cr_assert_eq(r.result, STORE_OK);
	return r.uid;
}

static int64_t
mailbox_id(const char *owner, const char *name)
{
	struct store_mailbox mb;
	const char *err = NULL;
	int64_t id;

	cr_assert_eq(store_mailbox_get(st, owner, name, &mb, &err), STORE_OK,
	    "%s: %s", name, err ? err : "not found");
	id = mb.id;
	store_mailbox_clear(&mb);
	return id;
}

static struct store_mailbox
mailbox(const char *owner, const char *name)
{
	struct store_mailbox mb;
	const char *err = NULL;

	cr_assert_eq(store_mailbox_get(st, owner, name, &mb, &err), STORE_OK,
	    "%s", name);
	return mb;
}

/* The section as a string (caller frees). */
static char *
section(int64_t mbox, uint32_t uid, const char *sect,
    enum store_section_part what, uint64_t off, uint64_t len, int want,
    uint64_t *total_r)
{
	struct buf out = BUF_INIT;
	const char *err = NULL;

	buf_append_str(&out, "");
	cr_assert_eq(store_section(st, mbox, uid, sect, what, off, len, &out,
	    total_r, &err), want, "section \"%s\" %d: %s", sect, what,
	    err ? err : "");
	return buf_steal(&out);
}

static void
search_check(int64_t mbox, enum store_search_key key, const char *field,
    const char *needle, size_t want_count, const uint32_t *want)
{
	uint32_t *uids;
	size_t n;
	const char *err = NULL;

	cr_assert_eq(store_search(st, mbox, key, field, needle, &uids, &n,
	    &err), STORE_OK, "%s", err);
	cr_assert_eq(n, want_count, "search %d \"%s\": %zu results, want %zu",
	    key, needle, n, want_count);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(uids[i], want[i]);
	free(uids);
}

/* ---- delivery ------------------------------------------------------ */

Test(store, deliver_three_recipients_share_one_body)
{
	struct store_rcpt r[3] = {
		{ .owner = "bob@example.org", .prefix = prefix },
		{ .owner = "carol@example.org", .prefix = prefix },
		{ .owner = "dave@example.org" },
	};
	const char *err = NULL;
	struct store_mailbox mb;

	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA1", multi_msg,
	    strlen(multi_msg), 1700000000, r, 3, &err), STORE_OK, "%s", err);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r[i].result, STORE_OK);
		cr_assert_eq(r[i].uid, 1);
		cr_assert_gt(r[i].mailbox_id, 0);
	}
	rows_check(1, 3);
	cr_assert_eq(sql_int("SELECT refs FROM bodies"), 3);
	cr_assert_eq(sql_int("SELECT count(*) FROM deliveries"), 3);
	/* INBOX was created, with a UIDVALIDITY. */
	mb = mailbox("carol@example.org", "inbox");
	cr_assert_str_eq(mb.name, "INBOX");
	cr_assert_gt(mb.uidvalidity, 0);
	cr_assert_eq(mb.uidnext, 2);
	cr_assert_eq(mb.messages, 1);
	cr_assert_eq(mb.unseen, 1);
	cr_assert_eq(mb.first_unseen, 1);
	cr_assert_eq(mb.bytes, strlen(prefix) + strlen(multi_msg));
	cr_assert_eq(mb.highestmodseq, 2);
	store_mailbox_clear(&mb);
	/* The size a client sees includes the prefix; dave has none. */
	cr_assert_eq(sql_int("SELECT size FROM messages WHERE mailbox_id ="
	    " (SELECT id FROM mailboxes WHERE owner = 'dave@example.org')"),
	    (int64_t)strlen(multi_msg));
	cr_assert_eq(store_delivered(st, "0AAAAAAAAAA1", "carol@example.org",
	    &err), 1);
	cr_assert_eq(store_delivered(st, "0AAAAAAAAAA1", "erin@example.org",
	    &err), 0);
}

Test(store, deliver_again_is_duplicate)
{
	struct store_rcpt r[2] = {
		{ .owner = "bob@example.org", .prefix = prefix },
		{ .owner = "carol@example.org", .prefix = prefix },
	};
	const char *err = NULL;

	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA2", simple_msg,
	    strlen(simple_msg), 1700000000, r, 2, &err), STORE_OK);
	rows_check(1, 2);
	/* A crash before the queue learnt of it: delivered again. */
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA2", simple_msg,
	    strlen(simple_msg), 1700000000, r, 2, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_DUPLICATE);
	cr_assert_eq(r[1].result, STORE_DUPLICATE);
	rows_check(1, 2);
	cr_assert_eq(sql_int("SELECT count(*) FROM deliveries"), 2);
	/* Half new: one new message, sharing a new body. */
	r[1].owner = "dave@example.org";
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA2", simple_msg,
	    strlen(simple_msg), 1700000000, r, 2, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_DUPLICATE);
	cr_assert_eq(r[1].result, STORE_OK);
	rows_check(2, 3);
	/* The same owner twice in one call is stored once. */
	r[0].owner = r[1].owner = "erin@example.org";
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA3", simple_msg,
	    strlen(simple_msg), 1700000000, r, 2, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_OK);
	cr_assert_eq(r[1].result, STORE_DUPLICATE);
	rows_check(3, 4);
}

Test(store, deliver_over_quota_and_to_missing_mailbox)
{
	size_t size = strlen(prefix) + strlen(simple_msg);
	struct store_rcpt r[3] = {
		{ .owner = "bob@example.org", .prefix = prefix,
		  .quota = size * 2 },
		{ .owner = "carol@example.org", .prefix = prefix,
		  .quota = size - 1 },
		{ .owner = "dave@example.org", .mailbox = "Lists/none" },
	};
	const char *err = NULL;
	uint32_t uidv, uid;
	uint64_t usage;

	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA4", simple_msg,
	    strlen(simple_msg), 1700000000, r, 3, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_OK);
	cr_assert_eq(r[1].result, STORE_OVERQUOTA);
	cr_assert_eq(r[2].result, STORE_NOTFOUND);
	rows_check(1, 1);
	/* Not recorded: a later try may succeed. */
	cr_assert_eq(store_delivered(st, "0AAAAAAAAAA4", "carol@example.org",
	    &err), 0);
	/* Exactly at the quota is fine; one more octet is not. */
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA5", simple_msg,
	    strlen(simple_msg), 1700000000, r, 1, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_OK);
	cr_assert_eq(store_user_usage(st, "bob@example.org", &usage, &err),
	    STORE_OK);
	cr_assert_eq(usage, size * 2);
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAA6", simple_msg,
	    strlen(simple_msg), 1700000000, r, 1, &err), STORE_OK);
	cr_assert_eq(r[0].result, STORE_OVERQUOTA);
	cr_assert_eq(store_append(st, "bob@example.org", "INBOX", "x\r\n", 3,
	    1700000000, 0, NULL, usage + 2, &uidv, &uid, &err),
	    STORE_OVERQUOTA);
	/* Quota 0 is unlimited. */
	cr_assert_eq(store_append(st, "bob@example.org", "INBOX", "x\r\n", 3,
	    1700000000, 0, NULL, 0, &uidv, &uid, &err), STORE_OK);
	rows_check(3, 3);
}

Test(store, append_returns_appenduid_and_keeps_flags)
{
	const char *err = NULL;
	struct store_mailbox mb;
	struct store_meta m;
	uint32_t uidv, uid;

	cr_assert_eq(store_user_ensure(st, "bob@example.org", NULL, 0, &err),
	    STORE_OK);
	mb = mailbox("bob@example.org", "INBOX");
	cr_assert_eq(store_append(st, "bob@example.org", "Nope", simple_msg,
	    strlen(simple_msg), 1, 0, NULL, 0, &uidv, &uid, &err),
	    STORE_NOTFOUND);
	cr_assert_eq(store_append(st, "bob@example.org", "INBOX", simple_msg,
	    strlen(simple_msg), 1690000000, STORE_F_SEEN | STORE_F_DRAFT,
	    "$Label1 $label1 Work", 0, &uidv, &uid, &err), STORE_OK, "%s",
	    err);
	cr_assert_eq(uidv, mb.uidvalidity);
	cr_assert_eq(uid, 1);
	cr_assert_eq(store_meta_get(st, mb.id, uid, &m, &err), STORE_OK);
	cr_assert_eq(m.flags, STORE_F_SEEN | STORE_F_DRAFT);
	cr_assert_str_eq(m.keywords, "$Label1 Work");
	cr_assert_eq(m.internal_date, 1690000000);
	cr_assert_eq(m.size, strlen(simple_msg));
	cr_assert_str_eq(m.prefix, "");
	cr_assert_eq(m.modseq, mb.highestmodseq + 1);
	store_meta_clear(&m);
	store_mailbox_clear(&mb);
	rows_check(1, 1);
}

/* ---- flags --------------------------------------------------------- */

struct flags_out {
	struct store_msg	*changed;
	size_t			 nchanged;
	uint32_t		*failed;
	size_t			 nfailed;
};

static struct flags_out
flags(int64_t mbox, const uint32_t *uids, size_t n,
    enum store_flags_mode mode, unsigned f, const char *kw, uint64_t since)
{
	struct flags_out o;
	const char *err = NULL;

	cr_assert_eq(store_flags(st, mbox, uids, n, mode, f, kw, since,
	    &o.changed, &o.nchanged, &o.failed, &o.nfailed, &err), STORE_OK,
	    "%s", err);
	return o;
}

static void
flags_out_free(struct flags_out *o)
{
	free(o->changed);
	free(o->failed);
}

/* Deliver simple_msg n times to bob's INBOX. */
static int64_t
inbox_with(size_t n, uint32_t *uids)
{
	for (size_t i = 0; i < n; i++) {
		char qid[32];

		snprintf(qid, sizeof(qid), "0AAAAAAAAB%02zu", i);
		uids[i] = deliver(qid, "bob@example.org", simple_msg);
	}
	return mailbox_id("bob@example.org", "INBOX");
}

static uint64_t
highestmodseq(const char *owner, const char *name)
{
	struct store_mailbox mb = mailbox(owner, name);
	uint64_t v = mb.highestmodseq;

	store_mailbox_clear(&mb);
	return v;
}

Test(store, flags_modes_and_keywords)
{
	uint32_t uids[3];
	int64_t id = inbox_with(3, uids);
	struct flags_out o;
	struct store_meta m;
	const char *err = NULL;

	cr_assert_eq(highestmodseq("bob@example.org", "INBOX"), 4);
	/* +FLAGS (\Seen $Work) on all three: one new modseq for all. */
	o = flags(id, uids, 3, STORE_FLAGS_ADD, STORE_F_SEEN, "$Work", 0);
	cr_assert_eq(o.nchanged, 3);
	cr_assert_eq(o.nfailed, 0);
	cr_assert_null(o.failed);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(o.changed[i].uid, uids[i]);
		cr_assert_eq(o.changed[i].flags, STORE_F_SEEN);
		cr_assert_eq(o.changed[i].modseq, 5);
	}
	flags_out_free(&o);
	/* Again (keywords match without regard to case): no change, no
	 * modseq used. */
	o = flags(id, uids, 3, STORE_FLAGS_ADD, STORE_F_SEEN, "$work", 0);
	cr_assert_eq(o.nchanged, 0);
	flags_out_free(&o);
	cr_assert_eq(highestmodseq("bob@example.org", "INBOX"), 5);
	/* FLAGS replaces; -FLAGS removes. */
	o = flags(id, uids, 1, STORE_FLAGS_SET, STORE_F_DRAFT, "A b a", 0);
	cr_assert_eq(o.changed[0].flags, STORE_F_DRAFT);
	flags_out_free(&o);
	cr_assert_eq(store_meta_get(st, id, uids[0], &m, &err), STORE_OK);
	cr_assert_str_eq(m.keywords, "A b");
	store_meta_clear(&m);
	o = flags(id, uids, 2, STORE_FLAGS_REMOVE, STORE_F_SEEN, "$WORK B", 0);
	cr_assert_eq(o.nchanged, 2);
	cr_assert_eq(o.changed[1].flags, 0);
	flags_out_free(&o);
	cr_assert_eq(store_meta_get(st, id, uids[0], &m, &err), STORE_OK);
	cr_assert_eq(m.flags, STORE_F_DRAFT);
	cr_assert_str_eq(m.keywords, "A");
	store_meta_clear(&m);
	cr_assert_eq(store_meta_get(st, id, uids[1], &m, &err), STORE_OK);
	cr_assert_str_eq(m.keywords, "");
	store_meta_clear(&m);
	/* A UID that is not there is skipped. */
	o = flags(id, (uint32_t[]){ 77 }, 1, STORE_FLAGS_ADD, STORE_F_SEEN,
	    NULL, 0);
	cr_assert_eq(o.nchanged + o.nfailed, 0);
	flags_out_free(&o);
}

Test(store, unchangedsince_and_changedsince)
{
	uint32_t uids[3];
	int64_t id = inbox_with(3, uids);
	struct store_msg *msgs;
	struct flags_out o;
	struct store_meta m;
	const char *err = NULL;
	size_t n;

	/* Modseqs: all 5, then message 2 at 6. */
	o = flags(id, uids, 3, STORE_FLAGS_ADD, STORE_F_SEEN, NULL, 0);
	flags_out_free(&o);
	o = flags(id, uids + 1, 1, STORE_FLAGS_ADD, STORE_F_FLAGGED, NULL, 0);
	cr_assert_eq(o.changed[0].modseq, 6);
	flags_out_free(&o);
	/* UNCHANGEDSINCE 5: message 2 fails, 1 and 3 change (modseq 7). */
	o = flags(id, uids, 3, STORE_FLAGS_SET, STORE_F_ANSWERED, "Done", 5);
	cr_assert_eq(o.nchanged, 2);
	cr_assert_eq(o.changed[0].uid, uids[0]);
	cr_assert_eq(o.changed[1].uid, uids[2]);
	cr_assert_eq(o.changed[1].flags, STORE_F_ANSWERED);
	cr_assert_eq(o.changed[1].modseq, 7);
	cr_assert_eq(o.nfailed, 1);
	cr_assert_eq(o.failed[0], uids[1]);
	flags_out_free(&o);
	cr_assert_eq(store_meta_get(st, id, uids[1], &m, &err), STORE_OK);
	cr_assert_eq(m.flags, STORE_F_SEEN | STORE_F_FLAGGED);
	cr_assert_eq(m.modseq, 6);
	store_meta_clear(&m);
	/* UNCHANGEDSINCE equal to the modseq passes. */
	o = flags(id, uids + 1, 1, STORE_FLAGS_REMOVE, STORE_F_SEEN, NULL, 6);
	cr_assert_eq(o.nchanged, 1);
	cr_assert_eq(o.changed[0].modseq, 8);
	flags_out_free(&o);
	/* CONDSTORE: what changed since 6, since 7; and UIDs after 2. */
	cr_assert_eq(store_messages(st, id, 0, 6, &msgs, &n, &err), STORE_OK);
	cr_assert_eq(n, 3);
	free(msgs);
	cr_assert_eq(store_messages(st, id, 0, 7, &msgs, &n, &err), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(msgs[0].uid, uids[1]);
	cr_assert_eq(msgs[0].flags, STORE_F_FLAGGED);
	cr_assert_eq(msgs[0].modseq, 8);
	free(msgs);
	cr_assert_eq(store_messages(st, id, uids[1], 0, &msgs, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(msgs[0].uid, uids[2]);
	free(msgs);
	cr_assert_eq(highestmodseq("bob@example.org", "INBOX"), 8);
}

/* ---- expunge, copy, move ------------------------------------------- */

static void
set_deleted(int64_t mbox, const uint32_t *uids, size_t n)
{
	struct flags_out o = flags(mbox, uids, n, STORE_FLAGS_ADD,
	    STORE_F_DELETED, NULL, 0);

	flags_out_free(&o);
}

Test(store, expunge_frees_body_after_last_copy)
{
	const char *err = NULL;
	uint32_t uid, one = 1, *exp, *src, *dst, uidv, *van;
	size_t n;
	int64_t inbox, arch;
	struct store_mailbox mb;

	uid = deliver("0AAAAAAAAAC1", "bob@example.org", multi_msg);
	deliver("0AAAAAAAAAC2", "bob@example.org", simple_msg);
	cr_assert_eq(store_mailbox_create(st, "bob@example.org", "Archive",
	    "\\Archive", &err), STORE_OK);
	inbox = mailbox_id("bob@example.org", "INBOX");
	arch = mailbox_id("bob@example.org", "Archive");
	cr_assert_eq(store_copy(st, inbox, arch, &uid, 1, false, 0, &uidv,
	    &src, &dst, &n, &err), STORE_OK, "%s", err);
	free(src);
	free(dst);
	rows_check(2, 3);
	cr_assert_eq(sql_int("SELECT max(refs) FROM bodies"), 2);
	/* Expunge without \Deleted removes nothing. */
	cr_assert_eq(store_expunge(st, inbox, NULL, 0, &exp, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(exp);
	set_deleted(inbox, &uid, 1);
	cr_assert_eq(store_expunge(st, inbox, NULL, 0, &exp, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(exp[0], uid);
	free(exp);
	rows_check(2, 2);
	cr_assert_eq(sql_int("SELECT count(*) FROM expunged"), 1);
	mb = mailbox("bob@example.org", "INBOX");
	cr_assert_eq(sql_int("SELECT modseq FROM expunged"),
	    (int64_t)mb.highestmodseq);
	cr_assert_eq(store_vanished(st, inbox, mb.highestmodseq - 1, &van, &n,
	    &err), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(van[0], uid);
	free(van);
	cr_assert_eq(store_vanished(st, inbox, mb.highestmodseq, &van, &n,
	    &err), STORE_OK);
	cr_assert_eq(n, 0);
	store_mailbox_clear(&mb);
	/* The copy in Archive is the last user of the body. */
	set_deleted(arch, &one, 1);
	cr_assert_eq(store_expunge(st, arch, &one, 1, &exp, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 1);
	free(exp);
	rows_check(1, 1);
	/* The delivery record stays, pointing nowhere. */
	cr_assert_eq(sql_int("SELECT count(*) FROM deliveries"
	    " WHERE message_id IS NULL"), 1);
}

/* bob's INBOX with three messages and an empty Work. */
static void
copy_setup(uint32_t *uids, int64_t *inbox_r, int64_t *work_r)
{
	const char *err = NULL;

	*inbox_r = inbox_with(3, uids);
	cr_assert_eq(store_mailbox_create(st, "bob@example.org", "Work", NULL,
	    &err), STORE_OK);
	*work_r = mailbox_id("bob@example.org", "Work");
}

Test(store, copy_shares_bodies_and_gives_copyuid)
{
	const char *err = NULL;
	uint32_t uids[3], uidv, *src, *dst;
	uint32_t req[3];
	struct store_mailbox mb;
	struct store_meta m;
	size_t n;
	int64_t inbox, work;

	copy_setup(uids, &inbox, &work);
	set_deleted(inbox, uids, 1);
	/* COPY 1,3 and a UID that does not exist. */
	req[0] = uids[0];
	req[1] = uids[2];
	req[2] = 99;
	cr_assert_eq(store_copy(st, inbox, work, req, 3, false, 0, &uidv,
	    &src, &dst, &n, &err), STORE_OK, "%s", err);
	mb = mailbox("bob@example.org", "Work");
	cr_assert_eq(uidv, mb.uidvalidity);
	cr_assert_eq(n, 2);
	cr_assert_eq(src[0], uids[0]);
	cr_assert_eq(src[1], uids[2]);
	cr_assert_eq(dst[0], 1);
	cr_assert_eq(dst[1], 2);
	cr_assert_eq(mb.uidnext, 3);
	cr_assert_eq(mb.messages, 2);
	cr_assert_eq(mb.highestmodseq, 2);
	free(src);
	free(dst);
	/* Flags are kept (\Deleted too); the copies share the bodies. */
	cr_assert_eq(store_meta_get(st, work, 1, &m, &err), STORE_OK);
	cr_assert_eq(m.flags, STORE_F_DELETED);
	cr_assert_eq(m.modseq, mb.highestmodseq);
	cr_assert_str_eq(m.prefix, prefix);
	store_meta_clear(&m);
	store_mailbox_clear(&mb);
	rows_check(3, 5);
	cr_assert_eq(sql_int("SELECT sum(refs) FROM bodies"), 5);
	/* Another owner's mailbox is refused; so is passing the quota. */
	cr_assert_eq(store_mailbox_create(st, "carol@example.org", "Other",
	    NULL, &err), STORE_OK);
	cr_assert_eq(store_copy(st, inbox, mailbox_id("carol@example.org",
	    "Other"), uids, 1, false, 0, &uidv, &src, &dst, &n, &err),
	    STORE_INVALID);
	cr_assert_eq(store_copy(st, inbox, work, uids, 3, false,
	    5 * (strlen(prefix) + strlen(simple_msg)) + 2, &uidv, &src, &dst,
	    &n, &err), STORE_OVERQUOTA);
	cr_assert_eq(store_copy(st, inbox, 999, uids, 3, false, 0, &uidv,
	    &src, &dst, &n, &err), STORE_NOTFOUND);
	rows_check(3, 5);
}

Test(store, move_expunges_from_the_source)
{
	const char *err = NULL;
	uint32_t uids[3], uidv, *src, *dst, *van;
	struct store_msg *msgs;
	uint64_t modseq;
	size_t n;
	int64_t inbox, work;

	copy_setup(uids, &inbox, &work);
	/* MOVE 2,3 to Work: new UIDs there, VANISHED in INBOX; no quota
	 * check, as the owner's usage does not change. */
	cr_assert_eq(store_copy(st, inbox, work, uids + 1, 2, true, 1, &uidv,
	    &src, &dst, &n, &err), STORE_OK, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(src[0], uids[1]);
	cr_assert_eq(dst[0], 1);
	cr_assert_eq(dst[1], 2);
	free(src);
	free(dst);
	rows_check(3, 3);
	cr_assert_eq(store_messages(st, inbox, 0, 0, &msgs, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(msgs[0].uid, uids[0]);
	free(msgs);
	modseq = highestmodseq("bob@example.org", "INBOX");
	cr_assert_eq(modseq, 5);
	cr_assert_eq(store_vanished(st, inbox, modseq - 1, &van, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(van[0], uids[1]);
	cr_assert_eq(van[1], uids[2]);
	free(van);
	cr_assert_eq(store_messages(st, work, 0, 0, &msgs, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(msgs[1].modseq, highestmodseq("bob@example.org",
	    "Work"));
	free(msgs);
	/* The delivery records follow the moved messages. */
	cr_assert_eq(sql_int("SELECT count(*) FROM deliveries"
	    " WHERE message_id IS NULL"), 0);
	/* MOVE within one mailbox: new UIDs, the old ones vanish. */
	cr_assert_eq(store_copy(st, work, work, (uint32_t[]){ 1 }, 1, true, 0,
	    &uidv, &src, &dst, &n, &err), STORE_OK);
	cr_assert_eq(dst[0], 3);
	free(src);
	free(dst);
	cr_assert_eq(store_vanished(st, work, 0, &van, &n, &err), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(van[0], 1);
	free(van);
	rows_check(3, 3);
}

/* ---- mailboxes ----------------------------------------------------- */

static int
list_cb(const struct store_mailbox *mb, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s%s", b->len ? "," : "", mb->name);
	return 0;
}

static int
list_stop(const struct store_mailbox *mb, void *arg)
{
	(void)mb;
	(*(int *)arg)++;
	return 42;
}

Test(store, mailbox_create_list_subscribe_delete)
{
	static const struct store_special special[] = {
		{ "Sent", "\\Sent" }, { "Trash", "\\Trash" },
	};
	const char *err = NULL;
	const char *owner = "bob@example.org";
	struct buf names = BUF_INIT;
	struct store_mailbox mb;
	int calls = 0;

	cr_assert_eq(store_user_ensure(st, owner, special, 2, &err),
	    STORE_OK, "%s", err);
	cr_assert_eq(store_user_ensure(st, owner, special, 2, &err),
	    STORE_OK);
	cr_assert_eq(sql_int("SELECT count(*) FROM mailboxes"), 3);
	mb = mailbox(owner, "Sent");
	cr_assert_str_eq(mb.special_use, "\\Sent");
	cr_assert(mb.subscribed);
	store_mailbox_clear(&mb);
	cr_assert_eq(store_mailbox_create(st, owner, "Archive/2024", NULL,
	    &err), STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "Sent", NULL, &err),
	    STORE_EXISTS);
	cr_assert_eq(store_mailbox_create(st, owner, "inBox", NULL, &err),
	    STORE_EXISTS);
	cr_assert_eq(store_mailbox_create(st, owner, "inbox/Sub", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "X", "\\Bogus", &err),
	    STORE_INVALID);
	for (size_t i = 0; i < 7; i++) {
		const char *bad[] = { "", "/a", "a/", "a//b", "a*", "a%b",
		    "a\x01" };

		cr_assert_eq(store_mailbox_create(st, owner, bad[i], NULL,
		    &err), STORE_INVALID, "%s", bad[i]);
	}
	cr_assert_eq(store_mailbox_create(st, owner, "Caf\xc3\xa9", NULL,
	    &err), STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "Caf\xe9", NULL, &err),
	    STORE_INVALID);
	cr_assert_eq(store_mailbox_list(st, owner, list_cb, &names, &err),
	    STORE_OK);
	cr_assert_str_eq(names.data, "INBOX,Archive/2024,Caf\xc3\xa9,"
	    "INBOX/Sub,Sent,Trash");
	buf_release(&names);
	cr_assert_eq(store_mailbox_list(st, owner, list_stop, &calls, &err),
	    42);
	cr_assert_eq(calls, 1);
	cr_assert_eq(store_mailbox_subscribe(st, owner, "Trash", false, &err),
	    STORE_OK);
	mb = mailbox(owner, "Trash");
	cr_assert_not(mb.subscribed);
	store_mailbox_clear(&mb);
	cr_assert_eq(store_mailbox_subscribe(st, owner, "Nope", true, &err),
	    STORE_NOTFOUND);
	/* DELETE: INBOX cannot go; a mailbox takes its messages along. */
	cr_assert_eq(store_mailbox_delete(st, owner, "INBOX", &err),
	    STORE_INVALID);
	cr_assert_eq(store_append(st, owner, "Trash", multi_msg,
	    strlen(multi_msg), 1, 0, NULL, 0, &(uint32_t){ 0 },
	    &(uint32_t){ 0 }, &err), STORE_OK);
	rows_check(1, 1);
	cr_assert_eq(store_mailbox_delete(st, owner, "Trash", &err), STORE_OK);
	rows_check(0, 0);
	cr_assert_eq(store_mailbox_delete(st, owner, "Trash", &err),
	    STORE_NOTFOUND);
	cr_assert_eq(store_mailbox_get(st, owner, "Trash", &mb, &err),
	    STORE_NOTFOUND);
	/* Children stay. */
	cr_assert_eq(store_mailbox_create(st, owner, "Archive", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_delete(st, owner, "Archive", &err),
	    STORE_OK);
	mb = mailbox(owner, "Archive/2024");
	store_mailbox_clear(&mb);
}

Test(store, uidvalidity_differs_when_recreated_at_once)
{
	const char *err = NULL;
	uint32_t v[4];

	for (int i = 0; i < 4; i++) {
		struct store_mailbox mb;

		cr_assert_eq(store_mailbox_create(st, "bob@example.org", "Tmp",
		    NULL, &err), STORE_OK);
		mb = mailbox("bob@example.org", "Tmp");
		v[i] = mb.uidvalidity;
		store_mailbox_clear(&mb);
		cr_assert_eq(store_mailbox_delete(st, "bob@example.org", "Tmp",
		    &err), STORE_OK);
		for (int k = 0; k < i; k++)
			cr_assert_neq(v[k], v[i]);
	}
	cr_assert_geq(v[0], (uint32_t)time(NULL) - 5);
}

Test(store, rename_with_children)
{
	const char *err = NULL, *owner = "bob@example.org";
	struct store_mailbox before, after, child;
	uint32_t uidv, uid;

	cr_assert_eq(store_mailbox_create(st, owner, "a", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "a/x", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "ab", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_create(st, owner, "c", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_append(st, owner, "a/x", simple_msg,
	    strlen(simple_msg), 1, 0, NULL, 0, &uidv, &uid, &err), STORE_OK);
	before = mailbox(owner, "a/x");
	cr_assert_eq(store_mailbox_rename(st, owner, "a", "c", &err),
	    STORE_EXISTS);
	cr_assert_eq(store_mailbox_rename(st, owner, "a", "a/y", &err),
	    STORE_INVALID);
	cr_assert_eq(store_mailbox_rename(st, owner, "nope", "d", &err),
	    STORE_NOTFOUND);
	cr_assert_eq(store_mailbox_rename(st, owner, "a", "b", &err),
	    STORE_OK, "%s", err);
	cr_assert_eq(store_mailbox_get(st, owner, "a", &after, &err),
	    STORE_NOTFOUND);
	cr_assert_eq(store_mailbox_get(st, owner, "a/x", &after, &err),
	    STORE_NOTFOUND);
	after = mailbox(owner, "b");
	store_mailbox_clear(&after);
	child = mailbox(owner, "b/x");
	cr_assert_eq(child.id, before.id);
	cr_assert_eq(child.messages, 1);
	cr_assert_neq(child.uidvalidity, before.uidvalidity);
	/* "ab" only shares a prefix: not a child. */
	after = mailbox(owner, "ab");
	store_mailbox_clear(&after);
	store_mailbox_clear(&before);
	store_mailbox_clear(&child);
}

Test(store, rename_inbox_moves_its_messages)
{
	const char *err = NULL, *owner = "bob@example.org";
	struct store_mailbox inbox, old;
	struct buf out = BUF_INIT;
	uint32_t uids[2], *van;
	size_t n;

	uids[0] = deliver("0AAAAAAAAAE1", owner, simple_msg);
	uids[1] = deliver("0AAAAAAAAAE2", owner, multi_msg);
	cr_assert_eq(store_mailbox_create(st, owner, "INBOX/keep", NULL, &err),
	    STORE_OK);
	cr_assert_eq(store_mailbox_rename(st, owner, "inbox", "INBOX/old",
	    &err), STORE_OK, "%s", err);
	inbox = mailbox(owner, "INBOX");
	old = mailbox(owner, "INBOX/old");
	cr_assert_eq(inbox.messages, 0);
	cr_assert_eq(old.messages, 2);
	cr_assert_eq(old.uidnext, inbox.uidnext);
	cr_assert_neq(old.uidvalidity, inbox.uidvalidity);
	cr_assert_eq(store_vanished(st, inbox.id, 0, &van, &n, &err),
	    STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(van[0], uids[0]);
	free(van);
	cr_assert_eq(store_section(st, old.id, uids[1], "", STORE_SECT_ALL, 0,
	    UINT64_MAX, &out, NULL, &err), STORE_OK);
	cr_assert_eq(out.len, strlen(prefix) + strlen(multi_msg));
	buf_release(&out);
	store_mailbox_clear(&inbox);
	store_mailbox_clear(&old);
	/* The child of INBOX was left alone. */
	old = mailbox(owner, "INBOX/keep");
	store_mailbox_clear(&old);
	rows_check(2, 2);
}

/* ---- sections ------------------------------------------------------ */

Test(store, sections_of_a_multipart_message)
{
	int64_t inbox;
	uint32_t uid = deliver("0AAAAAAAAAF1", "bob@example.org", multi_msg);
	size_t plen = strlen(prefix), hlen;
	const char *text = strstr(multi_msg, "\r\n\r\n") + 4;
	char *s, *full = xasprintf("%s%s", prefix, multi_msg);
	uint64_t total;

	hlen = (size_t)(text - multi_msg);
	inbox = mailbox_id("bob@example.org", "INBOX");
	/* BODY[]: prefix and message. */
	s = section(inbox, uid, "", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    &total);
	cr_assert_str_eq(s, full);
	cr_assert_eq(total, strlen(full));
	free(s);
	/* BODY[HEADER] includes the prefix; BODY[TEXT] does not. */
	s = section(inbox, uid, "", STORE_SECT_HEADER, 0, UINT64_MAX,
	    STORE_OK, &total);
	cr_assert_eq(strlen(s), plen + hlen);
	cr_assert_eq(strncmp(s, full, plen + hlen), 0);
	free(s);
	s = section(inbox, uid, "", STORE_SECT_TEXT, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, text);
	free(s);
	/* BODY[1]: the base64 text as stored. */
	s = section(inbox, uid, "1", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, "VGhlIHNlY3JldCB3b3JkIGlzIHBpbmVhcHBsZS4NCkFuZCB0"
	    "aGUgc2Vjb25kIGxpbmUgbWVudGlvbnMgWndldHNjaGdlbmt1Y2hlbi4NCg==");
	free(s);
	s = section(inbox, uid, "2", STORE_SECT_MIME, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, part2_mime);
	free(s);
	s = section(inbox, uid, "2", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, "JVBERi0xLjQgZmFrZSBhdHRhY2htZW50IGJ5dGVz");
	free(s);
	/* Partial: across the prefix's end, and clipped at the end. */
	s = section(inbox, uid, "", STORE_SECT_ALL, plen - 4, 10, STORE_OK,
	    &total);
	cr_assert_eq(strlen(s), 10);
	cr_assert_eq(strncmp(s, full + plen - 4, 10), 0);
	cr_assert_eq(total, strlen(full));
	free(s);
	s = section(inbox, uid, "2", STORE_SECT_ALL, 30, 100, STORE_OK, NULL);
	cr_assert_str_eq(s, "50IGJ5dGVz");
	free(s);
	s = section(inbox, uid, "2", STORE_SECT_ALL, 1000, 10, STORE_OK,
	    &total);
	cr_assert_str_eq(s, "");
	cr_assert_eq(total, 40);
	free(s);
	/* What the message does not have. */
	s = section(inbox, uid, "3", STORE_SECT_ALL, 0, 10, STORE_NOTFOUND,
	    NULL);
	free(s);
	s = section(inbox, uid, "1", STORE_SECT_HEADER, 0, 10, STORE_NOTFOUND,
	    NULL);
	free(s);
	s = section(inbox, uid, "1.1", STORE_SECT_ALL, 0, 10, STORE_NOTFOUND,
	    NULL);
	free(s);
	s = section(inbox, 99, "1", STORE_SECT_ALL, 0, 10, STORE_NOTFOUND,
	    NULL);
	free(s);
	s = section(inbox, uid, "0", STORE_SECT_ALL, 0, 10, STORE_INVALID,
	    NULL);
	free(s);
	s = section(inbox, uid, "", STORE_SECT_MIME, 0, 10, STORE_INVALID,
	    NULL);
	free(s);
	free(full);
}

Test(store, sections_of_an_encapsulated_message)
{
	int64_t inbox;
	uint32_t fwd = deliver("0AAAAAAAAAG1", "bob@example.org", fwd_msg);
	uint32_t one = deliver("0AAAAAAAAAG2", "bob@example.org", simple_msg);
	char *s;

	inbox = mailbox_id("bob@example.org", "INBOX");
	s = section(inbox, fwd, "2", STORE_SECT_HEADER, 0, UINT64_MAX,
	    STORE_OK, NULL);
	cr_assert_str_eq(s, "From: Dave <dave@example.net>\r\n"
	    "Subject: report\r\n\r\n");
	free(s);
	s = section(inbox, fwd, "2", STORE_SECT_TEXT, 0, UINT64_MAX,
	    STORE_OK, NULL);
	cr_assert_str_eq(s, "Inner body text.");
	free(s);
	/* RFC 3501: 2.1 is the body of a non-multipart encapsulated one. */
	s = section(inbox, fwd, "2.1", STORE_SECT_ALL, 0, UINT64_MAX,
	    STORE_OK, NULL);
	cr_assert_str_eq(s, "Inner body text.");
	free(s);
	s = section(inbox, fwd, "1", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, "See below.");
	free(s);
	/* And 1 is the body of a message that is not multipart. */
	s = section(inbox, one, "1", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_str_eq(s, strstr(simple_msg, "\r\n\r\n") + 4);
	free(s);
	s = section(inbox, one, "2", STORE_SECT_ALL, 0, UINT64_MAX,
	    STORE_NOTFOUND, NULL);
	free(s);
}

/* ---- metadata, search, sort ---------------------------------------- */

Test(store, meta_of_a_message)
{
	uint32_t uid = deliver("0AAAAAAAAAH1", "bob@example.org", multi_msg);
	int64_t inbox = mailbox_id("bob@example.org", "INBOX");
	struct store_meta m;
	const char *err = NULL;

	cr_assert_eq(store_meta_get(st, inbox, uid, &m, &err), STORE_OK);
	cr_assert_eq(m.uid, uid);
	cr_assert_eq(m.flags, 0);
	cr_assert_str_eq(m.keywords, "");
	cr_assert_eq(m.internal_date, 1700000000);
	cr_assert_eq(m.size, strlen(prefix) + strlen(multi_msg));
	cr_assert_eq(m.envelope[0], '(');
	cr_assert_eq(m.body[0], '(');
	cr_assert_eq(m.bodystructure[0], '(');
	cr_assert_gt(m.body_id, 0);
	cr_assert_str_eq(m.prefix, prefix);
	store_meta_clear(&m);
	cr_assert_eq(store_meta_get(st, inbox, uid + 1, &m, &err),
	    STORE_NOTFOUND);
	cr_assert_eq(sql_int("SELECT has_attachment FROM body_info"), 1);
	cr_assert_eq(sql_int("SELECT count(*) FROM mailbox_messages"
	    " WHERE owner = 'bob@example.org' AND mailbox = 'INBOX'"
	    " AND flags = '' AND received = '2023-11-14 22:13:20'"), 1);
}

Test(store, search_keys)
{
	const char *owner = "bob@example.org";
	uint32_t a = deliver("0AAAAAAAAAJ1", owner, simple_msg);
	uint32_t b = deliver("0AAAAAAAAAJ2", owner, multi_msg);
	uint32_t c = deliver("0AAAAAAAAAJ3", owner, fwd_msg);
	uint32_t all[] = { a, b, c };
	int64_t inbox = mailbox_id(owner, "INBOX");
	const char *err = NULL;
	uint32_t *uids;
	size_t n;

	/* A word of the base64 text part, any case, and as a prefix. */
	search_check(inbox, STORE_SEARCH_BODY, NULL, "PINEAPPLE", 1, &b);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "pineapple", 1, &b);
	search_check(inbox, STORE_SEARCH_BODY, NULL, "zwetsch", 1, &b);
	search_check(inbox, STORE_SEARCH_BODY, NULL, "secret word is", 1, &b);
	/* Words present but not as the substring asked for. */
	search_check(inbox, STORE_SEARCH_BODY, NULL, "word secret", 0, NULL);
	/* A phrase across a line break. */
	search_check(inbox, STORE_SEARCH_BODY, NULL, "note. see you", 1, &a);
	/* BODY does not look at headers; TEXT does. */
	search_check(inbox, STORE_SEARCH_BODY, NULL, "Alice", 0, NULL);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "alice", 3, all);
	/* The decoded, non-ASCII subject, matched without regard to case. */
	search_check(inbox, STORE_SEARCH_SUBJECT, NULL, "K\xc3\x96LN", 1, &b);
	search_check(inbox, STORE_SEARCH_SUBJECT, NULL, "gr\xc3\xbc\xc3\x9f",
	    1, &b);
	search_check(inbox, STORE_SEARCH_SUBJECT, NULL, "=?UTF-8?", 0, NULL);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "k\xc3\xb6ln", 1, &b);
	search_check(inbox, STORE_SEARCH_SUBJECT, NULL, "", 3, all);
	search_check(inbox, STORE_SEARCH_FROM, NULL, "ALICE@", 3, all);
	search_check(inbox, STORE_SEARCH_TO, NULL, "bob", 3, all);
	search_check(inbox, STORE_SEARCH_CC, NULL, "carol", 1, &b);
	/* No Cc: at all does not contain "". */
	search_check(inbox, STORE_SEARCH_CC, NULL, "", 1, &b);
	search_check(inbox, STORE_SEARCH_BCC, NULL, "", 0, NULL);
	/* LIKE wildcards are plain characters. */
	search_check(inbox, STORE_SEARCH_SUBJECT, NULL, "%", 0, NULL);
	search_check(inbox, STORE_SEARCH_HEADER, "X-Tracking", "50%_off", 1,
	    &b);
	search_check(inbox, STORE_SEARCH_HEADER, "X-Tracking", "50%x", 0,
	    NULL);
	/* HEADER: the named field only, decoded; "" asks for presence. */
	search_check(inbox, STORE_SEARCH_HEADER, "subject", "aus k", 1, &b);
	search_check(inbox, STORE_SEARCH_HEADER, "To", "alice", 0, NULL);
	search_check(inbox, STORE_SEARCH_HEADER, "message-id", "", 1, &a);
	search_check(inbox, STORE_SEARCH_HEADER, "Message-ID", "@example", 1,
	    &a);
	/* Only punctuation: no word for the index, every message tested. */
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "@", 3, all);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "", 3, all);
	/* A digit is a word; quotes in the needle are just characters. */
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "<1@", 1, &a);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "\"hello", 0, NULL);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "hello", 1, &a);
	search_check(inbox, STORE_SEARCH_TEXT, NULL, "report", 1, &c);
	/* Other mailboxes do not leak in. */
	cr_assert_eq(store_mailbox_create(st, owner, "Empty", NULL, &err),
	    STORE_OK);
	search_check(mailbox_id(owner, "Empty"), STORE_SEARCH_TEXT, NULL,
	    "pineapple", 0, NULL);
	cr_assert_eq(store_search(st, inbox, STORE_SEARCH_HEADER, NULL, "x",
	    &uids, &n, &err), STORE_INVALID);
}

Test(store, sort_keys)
{
	const char *owner = "bob@example.org";
	uint32_t a = deliver("0AAAAAAAAAK1", owner, simple_msg);
	uint32_t b = deliver("0AAAAAAAAAK2", owner, multi_msg);
	int64_t inbox = mailbox_id(owner, "INBOX");
	struct store_sortkey *k;
	const char *err = NULL;
	size_t n;

	cr_assert_eq(store_sortkeys(st, inbox, &k, &n, &err), STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(k[0].uid, a);
	cr_assert_eq(k[1].uid, b);
	cr_assert_eq(k[0].arrival, 1700000000);
	cr_assert_neq(k[0].date, 0);
	cr_assert_eq(k[0].size, strlen(prefix) + strlen(simple_msg));
	cr_assert_str_eq(k[0].subject, "Hello there");
	cr_assert_str_eq(k[1].subject,
	    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	cr_assert_str_eq(k[0].from, "alice@example.org");
	cr_assert_str_eq(k[0].cc, "");
	cr_assert_str_eq(k[1].cc, "carol@example.org");
	store_sortkeys_free(k, n);
	cr_assert_eq(store_sortkeys(st, mailbox_id(owner, "INBOX") + 100, &k,
	    &n, &err), STORE_OK);
	cr_assert_eq(n, 0);
	store_sortkeys_free(k, n);
}

/* ---- opening ------------------------------------------------------- */

Test(store, readonly_rejects_writes)
{
	const char *err = NULL;
	struct store *ro;
	struct store_rcpt r = { .owner = "carol@example.org" };
	struct buf out = BUF_INIT;
	struct store_msg *changed;
	uint32_t uid, uidv, *u1, *u2;
	size_t n1, n2;
	uint64_t usage;

	uid = deliver("0AAAAAAAAAL1", "bob@example.org", simple_msg);
	cr_assert_eq(store_open(path, STORE_READONLY | STORE_CREATE, &ro,
	    &err), STORE_INVALID);
	cr_assert_eq(store_open(path, STORE_READONLY, &ro, &err), STORE_OK,
	    "%s", err);
	cr_assert_eq(store_user_usage(ro, "bob@example.org", &usage, &err),
	    STORE_OK);
	cr_assert_gt(usage, 0);
	cr_assert_eq(store_section(ro, mailbox_id("bob@example.org", "INBOX"),
	    uid, "", STORE_SECT_ALL, 0, UINT64_MAX, &out, NULL, &err),
	    STORE_OK);
	buf_release(&out);
	cr_assert_eq(store_mailbox_create(ro, "bob@example.org", "X", NULL,
	    &err), STORE_ERR);
	cr_assert(strstr(err, "read-only") != NULL, "%s", err);
	cr_assert_eq(store_deliver(ro, "0AAAAAAAAAL2", simple_msg,
	    strlen(simple_msg), 1, &r, 1, &err), STORE_ERR);
	cr_assert_eq(r.result, STORE_ERR);
	cr_assert_eq(store_append(ro, "bob@example.org", "INBOX", simple_msg,
	    strlen(simple_msg), 1, 0, NULL, 0, &uidv, &uid, &err), STORE_ERR);
	cr_assert_eq(store_flags(ro, 1, &uid, 1, STORE_FLAGS_ADD,
	    STORE_F_SEEN, NULL, 0, &changed, &n1, &u1, &n2, &err), STORE_ERR);
	cr_assert_eq(store_expunge(ro, 1, NULL, 0, &u1, &n1, &err), STORE_ERR);
	cr_assert_eq(store_copy(ro, 1, 1, &uid, 1, false, 0, &uidv, &u1, &u2,
	    &n1, &err), STORE_ERR);
	cr_assert_eq(store_mailbox_delete(ro, "bob@example.org", "X", &err),
	    STORE_ERR);
	cr_assert_eq(store_mailbox_rename(ro, "bob@example.org", "INBOX", "Y",
	    &err), STORE_ERR);
	cr_assert_eq(store_mailbox_subscribe(ro, "bob@example.org", "INBOX",
	    false, &err), STORE_ERR);
	cr_assert_eq(store_user_ensure(ro, "dave@example.org", NULL, 0, &err),
	    STORE_ERR);
	store_close(&ro);
	rows_check(1, 1);
	/* A missing file is not created without STORE_CREATE. */
	{
		char *p = xasprintf("%s/none.db", dir);

		cr_assert_eq(store_open(p, 0, &ro, &err), STORE_ERR);
		cr_assert_null(ro);
		cr_assert_neq(access(p, F_OK), 0);
		free(p);
	}
}

/* A mail.db of schema 1 with messages is migrated in place. */
Test(store, migrates_a_version_1_database)
{
	char *p = xasprintf("%s/old.db", dir);
	const struct db_migration *m;
	const char *err = NULL;
	struct store *s2;
	struct store_mailbox mb;
	sqlite3 *h;

	for (m = db_migrations; m->db != NULL; m++)
		if (strcmp(m->db, "mail") == 0 && m->version == 1)
			break;
	cr_assert_not_null(m->db);
	cr_assert_eq(sqlite3_open(p, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, m->sql, NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 1;"
	    "INSERT INTO mailboxes (id, owner, name, uidvalidity, uidnext)"
	    " VALUES (1, 'bob@example.org', 'INBOX', 4000000000, 3);"
	    "INSERT INTO bodies (id, size, refs, data)"
	    " VALUES (1, 3, 0, 'a\r\n');"
	    "INSERT INTO messages (mailbox_id, uid, body_id, internal_date,"
	    " size, modseq) VALUES (1, 1, 1, 0, 3, 1), (1, 2, 1, 0, 3, 1);",
	    NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
	cr_assert_eq(store_open(p, 0, &s2, &err), STORE_ERR);
	cr_assert(strstr(err, "migrate") != NULL, "%s", err);
	cr_assert_eq(store_open(p, STORE_CREATE, &s2, &err), STORE_OK, "%s",
	    err);
	cr_assert_eq(store_mailbox_create(s2, "bob@example.org", "New", NULL,
	    &err), STORE_OK);
	cr_assert_eq(store_mailbox_get(s2, "bob@example.org", "New", &mb,
	    &err), STORE_OK);
	cr_assert_eq(mb.uidvalidity, 4000000001u);
	store_mailbox_clear(&mb);
	cr_assert_eq(store_mailbox_get(s2, "bob@example.org", "INBOX", &mb,
	    &err), STORE_OK);
	cr_assert_eq(mb.messages, 2);
	cr_assert_eq(mb.bytes, 6);
	store_mailbox_clear(&mb);
	store_close(&s2);
	cr_assert_eq(sqlite3_open(p, &h), SQLITE_OK);
	{
		sqlite3_stmt *q;

		cr_assert_eq(sqlite3_prepare_v2(h, "SELECT refs FROM bodies",
		    -1, &q, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
		cr_assert_eq(sqlite3_column_int(q, 0), 2);
		sqlite3_finalize(q);
	}
	sqlite3_close(h);
	free(p);
}

/* A body larger than many database pages: partial reads read the range. */
Test(store, large_body_partial_reads)
{
	size_t hlen, len = 3 * 1024 * 1024;
	char *msg = xmalloc(len), *s;
	const char *err = NULL;
	uint32_t uidv, uid;
	uint64_t total;
	int64_t id;

	hlen = (size_t)snprintf(msg, len, "Subject: big\r\n\r\n");
	for (size_t i = hlen; i < len; i++)
		msg[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' :
		    (char)('a' + (i * 7) % 26);
	cr_assert_eq(store_user_ensure(st, "bob@example.org", NULL, 0, &err),
	    STORE_OK);
	cr_assert_eq(store_append(st, "bob@example.org", "INBOX", msg, len,
	    1, 0, NULL, 0, &uidv, &uid, &err), STORE_OK, "%s", err);
	id = mailbox_id("bob@example.org", "INBOX");
	s = section(id, uid, "", STORE_SECT_ALL, 2500000, 1000, STORE_OK,
	    &total);
	cr_assert_eq(total, len);
	cr_assert_eq(strlen(s), 1000);
	cr_assert_eq(memcmp(s, msg + 2500000, 1000), 0);
	free(s);
	s = section(id, uid, "", STORE_SECT_TEXT, len - hlen - 10, 100,
	    STORE_OK, &total);
	cr_assert_eq(total, len - hlen);
	cr_assert_eq(memcmp(s, msg + len - 10, 10), 0);
	cr_assert_eq(strlen(s), 10);
	free(s);
	s = section(id, uid, "1", STORE_SECT_ALL, 0, UINT64_MAX, STORE_OK,
	    NULL);
	cr_assert_eq(strlen(s), len - hlen);
	cr_assert_eq(memcmp(s, msg + hlen, len - hlen), 0);
	free(s);
	free(msg);
}

Test(store, deliver_refuses_bad_arguments)
{
	struct store_rcpt r[2] = {
		{ .owner = "bob@example.org" },
		{ .owner = NULL },
	};
	const char *err = NULL;

	cr_assert_eq(store_deliver(st, "", simple_msg, strlen(simple_msg), 1,
	    r, 1, &err), STORE_ERR);
	cr_assert_eq(r[0].result, STORE_ERR);
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAM1", simple_msg,
	    strlen(simple_msg), 1, r, 2, &err), STORE_ERR);
	cr_assert_eq(r[0].result, STORE_ERR);
	cr_assert_eq(r[0].uid, 0);
	rows_check(0, 0);
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAM1", simple_msg,
	    strlen(simple_msg), 1, r, 0, &err), STORE_OK);
	/* An empty message is a message too. */
	cr_assert_eq(store_deliver(st, "0AAAAAAAAAM2", "", 0, 1, r, 1, &err),
	    STORE_OK, "%s", err);
	cr_assert_eq(r[0].result, STORE_OK);
	rows_check(1, 1);
}
