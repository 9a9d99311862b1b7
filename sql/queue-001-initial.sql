-- queue.db, schema version 1: mail Sluice has taken responsibility for.
--
-- Written by sluiced. A message is inserted with all its recipients in one
-- transaction, committed with synchronous=FULL, before the client hears
-- "250 ... queued as ID". Each recipient then moves on its own:
-- queued -> (deferred ->)* delivered | relayed | failed.
-- Times are Unix seconds (UTC); the *_at columns of the views are text.

-- messages: one row per accepted message (or generated bounce/notice).
CREATE TABLE messages (
	id		TEXT PRIMARY KEY,	-- queue id: 12 characters,
						-- sortable by arrival time
	arrived		INTEGER NOT NULL,	-- when the 250 was given
	sender		TEXT NOT NULL,		-- envelope sender; '' is the
						-- null sender <>
	size		INTEGER NOT NULL,	-- octets of bodies.data
	kind		TEXT NOT NULL DEFAULT 'mail'	-- mail: from a client;
			CHECK (kind IN ('mail', 'bounce', 'delay', 'success')),
						-- others: notices we generated
	listener	TEXT NOT NULL,		-- name of the listener it came in
						-- on ('internal' for notices)
	client_addr	TEXT,			-- client IP address, or NULL
	client_name	TEXT,			-- client host name if known
	helo		TEXT,			-- EHLO/HELO argument
	auth_user	TEXT,			-- authenticated login, or NULL
	tls_version	TEXT,			-- e.g. TLSv1.3, NULL: plaintext
	tls_cipher	TEXT,			-- e.g. TLS_AES_256_GCM_SHA384
	body_type	TEXT NOT NULL DEFAULT '7BIT'	-- MAIL BODY= parameter
			CHECK (body_type IN ('7BIT', '8BITMIME', 'BINARYMIME')),
	smtputf8	INTEGER NOT NULL DEFAULT 0	-- 1: MAIL had SMTPUTF8
			CHECK (smtputf8 IN (0, 1)),
	dsn_ret		TEXT			-- DSN RET=: FULL, HDRS, or NULL
			CHECK (dsn_ret IN ('FULL', 'HDRS')),
	dsn_envid	TEXT,			-- DSN ENVID= (xtext decoded)
	held		INTEGER NOT NULL DEFAULT 0	-- 1: an operator holds it;
			CHECK (held IN (0, 1)),		-- not delivered until released
	delay_notified	INTEGER NOT NULL DEFAULT 0	-- 1: a delay notice was
			CHECK (delay_notified IN (0, 1))	-- sent for it
);
CREATE INDEX messages_arrived ON messages (arrived);

-- bodies: the message content, kept apart from messages so that changing a
-- flag never rewrites a large row. Stored as received, with the Received
-- header Sluice added, CRLF line endings, dot-stuffing undone.
CREATE TABLE bodies (
	message_id	TEXT PRIMARY KEY	-- messages.id
			REFERENCES messages (id) ON DELETE CASCADE,
	data		BLOB NOT NULL		-- the RFC 5322 message
);

-- recipients: one row per envelope recipient of a message.
CREATE TABLE recipients (
	id		INTEGER PRIMARY KEY,	-- row id
	message_id	TEXT NOT NULL		-- messages.id
			REFERENCES messages (id) ON DELETE CASCADE,
	address		TEXT NOT NULL,		-- recipient as accepted, normalised
	orcpt		TEXT,			-- DSN ORCPT= (addr-type;address)
	notify		TEXT,			-- DSN NOTIFY=: NEVER, or a comma
						-- list of SUCCESS, FAILURE, DELAY;
						-- NULL: not given
	state		TEXT NOT NULL DEFAULT 'queued'
			CHECK (state IN ('queued', 'deferred', 'delivered',
			    'relayed', 'failed')),
						-- queued: not tried yet;
						-- deferred: tried, will retry;
						-- delivered/relayed/failed: final
	route		TEXT,			-- routing hint from the policy:
						-- 'local', 'relay:NAME'; NULL: by
						-- domain at delivery time
	attempts	INTEGER NOT NULL DEFAULT 0,	-- delivery attempts made
	next_attempt	INTEGER NOT NULL,	-- when it is due (queued/deferred)
	last_attempt	INTEGER,		-- when it was last tried
	status		TEXT,			-- last enhanced status, e.g. 4.4.1
	diagnostic	TEXT,			-- last reply or local reason
	finished	INTEGER			-- when it reached a final state
);
CREATE INDEX recipients_message ON recipients (message_id);
CREATE INDEX recipients_due ON recipients (next_attempt)
	WHERE state IN ('queued', 'deferred');

-- attempts: every delivery attempt for a recipient, for "why is it stuck".
CREATE TABLE attempts (
	id		INTEGER PRIMARY KEY,	-- row id
	recipient_id	INTEGER NOT NULL	-- recipients.id
			REFERENCES recipients (id) ON DELETE CASCADE,
	started		INTEGER NOT NULL,	-- when the attempt began
	duration_ms	INTEGER,		-- how long it took
	result		TEXT NOT NULL		-- outcome for this recipient
			CHECK (result IN ('delivered', 'relayed', 'deferred',
			    'failed')),
	status		TEXT,			-- enhanced status code
	reply		TEXT,			-- remote reply or local reason
	mx		TEXT,			-- MX or smarthost host name
	ip		TEXT,			-- address connected to
	port		INTEGER,		-- port connected to
	dnssec		TEXT			-- validation of the MX answer
			CHECK (dnssec IN ('secure', 'insecure', 'bogus')),
	tls_version	TEXT,			-- NULL: no TLS
	tls_cipher	TEXT,
	dane		TEXT			-- none, verified, failed
			CHECK (dane IN ('none', 'verified', 'failed'))
);
CREATE INDEX attempts_recipient ON attempts (recipient_id);

-- queue_overview: each message with its recipients counted by state.
CREATE VIEW queue_overview AS
SELECT m.id, datetime(m.arrived, 'unixepoch') AS arrived_at,
	CASE m.sender WHEN '' THEN '<>' ELSE m.sender END AS sender,
	m.size, m.kind, m.held,
	sum(r.state = 'queued') AS queued,
	sum(r.state = 'deferred') AS deferred,
	sum(r.state IN ('delivered', 'relayed')) AS delivered,
	sum(r.state = 'failed') AS failed
FROM messages m LEFT JOIN recipients r ON r.message_id = m.id
GROUP BY m.id;

-- stuck: recipients waiting for a retry, oldest first: what is stuck, for
-- whom, since when, and why.
CREATE VIEW stuck AS
SELECT m.id AS queue_id, CASE m.sender WHEN '' THEN '<>' ELSE m.sender END
	AS sender, r.address AS recipient,
	datetime(m.arrived, 'unixepoch') AS since, r.attempts,
	datetime(r.next_attempt, 'unixepoch') AS next_attempt_at,
	r.status, r.diagnostic
FROM recipients r JOIN messages m ON m.id = r.message_id
WHERE r.state = 'deferred'
ORDER BY m.arrived;
