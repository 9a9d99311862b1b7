-- queue.db, schema version 2: what the queue worker needs to deliver.
--
-- Aliases are expanded at delivery. A target in another domain becomes a
-- recipient of its own on the same message (expanded_from names the
-- recipient it came from), so that it is retried, bounced and reported on
-- its own; the alias recipient itself is then final ('delivered', status
-- 2.0.0, diagnostic "expanded to ...").

ALTER TABLE recipients ADD COLUMN expanded_from INTEGER	-- recipients.id of
	REFERENCES recipients (id) ON DELETE CASCADE;	-- the alias, or NULL

-- At most one recipient row per address on a message: expanding an alias
-- again after a crash or a retry adds nothing twice.
CREATE INDEX recipients_message_address ON recipients (message_id, address);

-- attempts_overview: the attempts of each recipient, newest first, for
-- "what happened to my mail".
CREATE VIEW attempts_overview AS
SELECT r.message_id AS queue_id, r.address AS recipient,
	datetime(a.started, 'unixepoch') AS started_at, a.duration_ms,
	a.result, a.status, a.reply, a.mx, a.ip, a.dnssec, a.tls_version,
	a.dane
FROM attempts a JOIN recipients r ON r.id = a.recipient_id
ORDER BY a.started DESC, a.id DESC;
