-- mail.db, schema version 2: what IMAP needs, computed once per message.
--
-- A body is parsed once when it enters the store (src/store/msginfo.h):
-- its FETCH ENVELOPE/BODY/BODYSTRUCTURE texts, its MIME parts with their
-- offsets (so BODY[1.2] reads only those octets of bodies.data), its
-- decoded header fields (SEARCH, SORT) and its decoded text (the full-text
-- index) are kept beside it, and removed with it when the last message
-- using it goes. Header values are decoded to UTF-8 (RFC 2047).
--
-- Reference counts are kept by triggers, so that deleting messages or a
-- mailbox from the sqlite3 shell also frees the bodies nobody uses.

-- messages.prefix: header lines of this copy only (Return-Path,
-- Delivered-To), CRLF ended, that a client sees before the shared body;
-- messages.size counts them.
ALTER TABLE messages ADD COLUMN prefix TEXT NOT NULL DEFAULT '';

-- CONDSTORE/QRESYNC ask for the messages changed since a mod-sequence.
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);

-- Deleting a message sets deliveries.message_id to NULL: without this
-- index each such delete would read the whole deliveries table.
CREATE INDEX deliveries_message ON deliveries (message_id);
-- For pruning old delivery records by age.
CREATE INDEX deliveries_delivered ON deliveries (delivered);

-- body_info: the precomputed IMAP views of a body, one row per bodies row.
-- Decoded header fields are NULL when the message has no such field.
CREATE TABLE body_info (
	body_id		INTEGER PRIMARY KEY	-- bodies.id
			REFERENCES bodies (id) ON DELETE CASCADE,
	envelope	TEXT NOT NULL,		-- FETCH ENVELOPE text
	body		TEXT NOT NULL,		-- FETCH BODY text
	bodystructure	TEXT NOT NULL,		-- FETCH BODYSTRUCTURE text
	subject		TEXT,			-- Subject:, decoded
	sort_subject	TEXT NOT NULL DEFAULT '',	-- RFC 5256 base subject
	from_list	TEXT,			-- From:, decoded
	to_list		TEXT,			-- To:, decoded
	cc_list		TEXT,			-- Cc:, decoded
	bcc_list	TEXT,			-- Bcc:, decoded
	message_id	TEXT,			-- Message-ID:, raw
	in_reply_to	TEXT,			-- In-Reply-To:, raw
	reference_ids	TEXT,			-- References:, raw
	sent_date	INTEGER NOT NULL DEFAULT 0,	-- Date: in Unix seconds,
						-- 0 when absent or unparsable
	from_addr	TEXT NOT NULL DEFAULT '',	-- first From: address,
						-- lower-case (SORT FROM)
	to_addr		TEXT NOT NULL DEFAULT '',	-- first To: address
	cc_addr		TEXT NOT NULL DEFAULT '',	-- first Cc: address
	has_attachment	INTEGER NOT NULL DEFAULT 0	-- 1: a part is an
			CHECK (has_attachment IN (0, 1))	-- attachment
);

-- parts: the MIME parts of a body in depth-first order, the root first.
-- Offsets are octets into bodies.data (the per-copy prefix is not in
-- them). An encapsulated message (message/rfc822) has the section of the
-- part that holds it (RFC 3501 6.4.5), so a section may repeat: the first
-- row (lowest seq) is the part that section names.
CREATE TABLE parts (
	body_id		INTEGER NOT NULL	-- bodies.id
			REFERENCES bodies (id) ON DELETE CASCADE,
	seq		INTEGER NOT NULL,	-- 0 for the root, 1, 2, ...
	section		TEXT NOT NULL,		-- '' root, '1', '1.2', ...
	type		TEXT NOT NULL,		-- lower-case, e.g. 'text'
	subtype		TEXT NOT NULL,		-- lower-case, e.g. 'plain'
	hdr_off		INTEGER NOT NULL,	-- the part's MIME header
	hdr_len		INTEGER NOT NULL,	-- (BODY[n.MIME]), empty
						-- line included
	body_off	INTEGER NOT NULL,	-- its content (BODY[n])
	body_len	INTEGER NOT NULL,
	is_message	INTEGER NOT NULL DEFAULT 0	-- 1: message/rfc822 whose
			CHECK (is_message IN (0, 1)),	-- content is a message
	msg_hdr_off	INTEGER NOT NULL DEFAULT 0,	-- that message's header
	msg_hdr_len	INTEGER NOT NULL DEFAULT 0,	-- (BODY[n.HEADER]); its
						-- text (BODY[n.TEXT]) runs
						-- from there to the part's end
	PRIMARY KEY (body_id, seq)
);
CREATE INDEX parts_section ON parts (body_id, section);

-- body_fts: the full-text index (FTS5) of each body, rowid = bodies.id.
-- The decoded text is stored too (a normal FTS5 table keeps its content):
-- SEARCH confirms each match of the index against it, as a substring.
--   headers_text: every header field, "Name: decoded value" lines
--   body_text: the text parts, decoded, HTML reduced to text
-- Query it with e.g. SELECT rowid FROM body_fts WHERE body_fts MATCH 'x'.
CREATE VIRTUAL TABLE body_fts USING fts5 (
	headers_text,
	body_text,
	tokenize = 'unicode61 remove_diacritics 2'
);

-- expunged: UIDs removed from a mailbox and the mod-sequence of their
-- removal, for QRESYNC VANISHED (RFC 7162 3.2.5.1).
CREATE TABLE expunged (
	mailbox_id	INTEGER NOT NULL	-- mailboxes.id
			REFERENCES mailboxes (id) ON DELETE CASCADE,
	uid		INTEGER NOT NULL,	-- the UID it had
	modseq		INTEGER NOT NULL,	-- the mailbox's HIGHESTMODSEQ
						-- after the expunge
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);

-- sequences: counters that must never repeat.
--   uidvalidity: the last UIDVALIDITY given to a mailbox. A new one is
--   max(now, last + 1), so a mailbox deleted and created again within
--   the same second still gets a new UIDVALIDITY.
CREATE TABLE sequences (
	name	TEXT PRIMARY KEY,	-- e.g. 'uidvalidity'
	value	INTEGER NOT NULL	-- last value handed out
);
INSERT INTO sequences (name, value)
SELECT 'uidvalidity', coalesce(max(uidvalidity), 0) FROM mailboxes;

-- bodies.refs follows the messages using each body: a message inserted
-- adds one, a message deleted (by EXPUNGE, by deleting its mailbox, or by
-- hand) removes one, and the body whose count reaches 0 is deleted with
-- its body_info, parts and index rows.
UPDATE bodies SET refs = (SELECT count(*) FROM messages m
	WHERE m.body_id = bodies.id);

CREATE TRIGGER messages_body_ref AFTER INSERT ON messages
BEGIN
	UPDATE bodies SET refs = refs + 1 WHERE id = new.body_id;
END;

CREATE TRIGGER messages_body_unref AFTER DELETE ON messages
BEGIN
	UPDATE bodies SET refs = refs - 1 WHERE id = old.body_id;
	DELETE FROM bodies WHERE id = old.body_id AND refs = 0;
END;

CREATE TRIGGER messages_body_change AFTER UPDATE OF body_id ON messages
WHEN new.body_id IS NOT old.body_id
BEGIN
	UPDATE bodies SET refs = refs + 1 WHERE id = new.body_id;
	UPDATE bodies SET refs = refs - 1 WHERE id = old.body_id;
	DELETE FROM bodies WHERE id = old.body_id AND refs = 0;
END;

-- mailboxes.bytes: the sum of the sizes of the mailbox's messages, kept
-- by the triggers below, so a quota check (the sum over a user's few
-- mailboxes) never reads the messages themselves.
ALTER TABLE mailboxes ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET bytes = (SELECT coalesce(sum(m.size), 0)
	FROM messages m WHERE m.mailbox_id = mailboxes.id);

CREATE TRIGGER messages_bytes_add AFTER INSERT ON messages
BEGIN
	UPDATE mailboxes SET bytes = bytes + new.size
	WHERE id = new.mailbox_id;
END;

CREATE TRIGGER messages_bytes_remove AFTER DELETE ON messages
BEGIN
	UPDATE mailboxes SET bytes = bytes - old.size
	WHERE id = old.mailbox_id;
END;

CREATE TRIGGER messages_bytes_move AFTER UPDATE OF mailbox_id, size
ON messages
BEGIN
	UPDATE mailboxes SET bytes = bytes - old.size
	WHERE id = old.mailbox_id;
	UPDATE mailboxes SET bytes = bytes + new.size
	WHERE id = new.mailbox_id;
END;

-- body_fts has no foreign key: remove a body's index rows with it.
CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies
BEGIN
	DELETE FROM body_fts WHERE rowid = old.id;
END;

-- mailbox_messages: every message, for operators, e.g.
--   SELECT * FROM mailbox_messages WHERE owner = 'bob@example.org';
-- Columns: owner (user address), mailbox (name), uid, received (the
-- INTERNALDATE as 'YYYY-MM-DD HH:MM:SS' UTC), size (RFC822.SIZE, prefix
-- included), flags (as IMAP writes them, keywords last), subject and
-- from_list (decoded Subject: and From:, NULL when absent).
CREATE VIEW mailbox_messages AS
SELECT b.owner, b.name AS mailbox, m.uid,
	datetime(m.internal_date, 'unixepoch') AS received, m.size,
	trim(CASE WHEN m.seen THEN '\Seen ' ELSE '' END ||
	    CASE WHEN m.answered THEN '\Answered ' ELSE '' END ||
	    CASE WHEN m.flagged THEN '\Flagged ' ELSE '' END ||
	    CASE WHEN m.deleted THEN '\Deleted ' ELSE '' END ||
	    CASE WHEN m.draft THEN '\Draft ' ELSE '' END ||
	    m.keywords) AS flags,
	i.subject, i.from_list
FROM messages m
JOIN mailboxes b ON b.id = m.mailbox_id
LEFT JOIN body_info i ON i.body_id = m.body_id;
