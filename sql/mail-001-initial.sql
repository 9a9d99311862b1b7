-- mail.db, schema version 1: the mailbox store served over POP3 and IMAP.
--
-- Written by sluiced (local delivery) and sluice-mboxd. Users are named by
-- their address in directory.db (a separate file, so no foreign key).
-- Times are Unix seconds (UTC).

-- mailboxes: IMAP folders. Names use "/" as the hierarchy separator;
-- INBOX is always spelled INBOX.
CREATE TABLE mailboxes (
	id		INTEGER PRIMARY KEY,	-- row id
	owner		TEXT NOT NULL,		-- user address
	name		TEXT NOT NULL,		-- e.g. INBOX, Sent, Lists/sluice
	special_use	TEXT			-- RFC 6154 attribute, or NULL
			CHECK (special_use IN ('\Sent', '\Drafts', '\Trash',
			    '\Junk', '\Archive')),
	uidvalidity	INTEGER NOT NULL,	-- IMAP UIDVALIDITY
	uidnext		INTEGER NOT NULL DEFAULT 1,	-- next UID to assign
	highestmodseq	INTEGER NOT NULL DEFAULT 1,	-- RFC 7162 CONDSTORE
	subscribed	INTEGER NOT NULL DEFAULT 1	-- 1: in LSUB
			CHECK (subscribed IN (0, 1)),
	created		INTEGER NOT NULL
			DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	UNIQUE (owner, name)
);

-- bodies: message content stored once however many local recipients got
-- it; refs counts the messages rows using it, the last one removes it.
CREATE TABLE bodies (
	id	INTEGER PRIMARY KEY,	-- row id
	size	INTEGER NOT NULL,	-- octets of data
	refs	INTEGER NOT NULL DEFAULT 0 CHECK (refs >= 0),
	data	BLOB NOT NULL		-- the RFC 5322 message, CRLF endings
);

-- messages: a message in a mailbox.
CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,	-- row id
	mailbox_id	INTEGER NOT NULL	-- mailboxes.id
			REFERENCES mailboxes (id) ON DELETE CASCADE,
	uid		INTEGER NOT NULL,	-- IMAP UID, unique in the mailbox
	body_id		INTEGER NOT NULL REFERENCES bodies (id),
	internal_date	INTEGER NOT NULL,	-- IMAP INTERNALDATE
	size		INTEGER NOT NULL,	-- RFC822.SIZE
	seen		INTEGER NOT NULL DEFAULT 0,	-- \Seen
	answered	INTEGER NOT NULL DEFAULT 0,	-- \Answered
	flagged		INTEGER NOT NULL DEFAULT 0,	-- \Flagged
	deleted		INTEGER NOT NULL DEFAULT 0,	-- \Deleted
	draft		INTEGER NOT NULL DEFAULT 0,	-- \Draft
	keywords	TEXT NOT NULL DEFAULT '',	-- other flags, space separated
	modseq		INTEGER NOT NULL,	-- RFC 7162 mod-sequence
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_body ON messages (body_id);

-- deliveries: which queued (message, recipient) pairs were delivered here,
-- so that a crash between the mail.db commit and the queue.db update
-- never stores a message twice.
CREATE TABLE deliveries (
	queue_id	TEXT NOT NULL,		-- queue.db messages.id
	recipient	TEXT NOT NULL,		-- final local address
	message_id	INTEGER			-- messages.id it became (NULL
			REFERENCES messages (id) ON DELETE SET NULL,
						-- once expunged)
	delivered	INTEGER NOT NULL,	-- when
	PRIMARY KEY (queue_id, recipient)
);

-- mailbox_overview: each mailbox with message counts and size.
CREATE VIEW mailbox_overview AS
SELECT b.owner, b.name, count(m.id) AS messages,
	sum(m.seen = 0) AS unseen, coalesce(sum(m.size), 0) AS bytes
FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
GROUP BY b.id;
