-- directory.db, schema version 1: who and what this installation serves.
--
-- Written by sluicectl, read by the daemons. Addresses and domain names are
-- stored normalised: domains in lower case without a trailing dot, whole
-- addresses in lower case (Sluice matches local parts case-insensitively,
-- as Postfix and Dovecot do by default). Times are Unix seconds (UTC).

-- domains: the mail domains this installation accepts mail for on the mx
-- listeners.
CREATE TABLE domains (
	id	INTEGER PRIMARY KEY,	-- row id
	name	TEXT NOT NULL UNIQUE,	-- domain name, e.g. example.org
	kind	TEXT NOT NULL		-- local: mailboxes live here;
		CHECK (kind IN ('local', 'relay')),
					-- relay: accepted on mx and passed on
	created	INTEGER NOT NULL	-- when it was added
		DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);

-- users: accounts that may log in (SMTP AUTH, IMAP, POP3). A user of a
-- domain that is not local has no mailbox here: a corporate relay gives
-- submission-only accounts to people whose mailboxes live elsewhere.
CREATE TABLE users (
	id		INTEGER PRIMARY KEY,	-- row id
	address		TEXT NOT NULL UNIQUE,	-- login and address, local@domain
	domain		TEXT NOT NULL,		-- the part after @, for queries
	password	TEXT NOT NULL,		-- crypt(3) hash ($y$ yescrypt by
						-- default; $2b$ $6$ $5$ accepted)
	enabled		INTEGER NOT NULL DEFAULT 1	-- 0: may not log in, and
			CHECK (enabled IN (0, 1)),	-- mail to it is refused
	has_mailbox	INTEGER NOT NULL DEFAULT 1	-- 1: mail for it is stored
			CHECK (has_mailbox IN (0, 1)),	-- here; 0: submission only
	quota		INTEGER NOT NULL DEFAULT 0	-- mailbox size limit in
			CHECK (quota >= 0),		-- bytes; 0: unlimited
	created		INTEGER NOT NULL		-- when it was added
			DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	password_changed INTEGER NOT NULL		-- when the hash was last set
			DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX users_domain ON users (domain);

-- aliases: other addresses that deliver to one or more targets. An alias
-- with several targets has one row per target. Targets may be local users,
-- other aliases (expanded at delivery, loops detected) or remote addresses.
CREATE TABLE aliases (
	id	INTEGER PRIMARY KEY,	-- row id
	address	TEXT NOT NULL,		-- the alias, local@domain
	domain	TEXT NOT NULL,		-- the part after @ of address
	target	TEXT NOT NULL,		-- where its mail goes, local@domain
	created	INTEGER NOT NULL	-- when it was added
		DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	UNIQUE (address, target)
);
CREATE INDEX aliases_domain ON aliases (domain);

-- domain_overview: each domain with its number of users and aliases.
CREATE VIEW domain_overview AS
SELECT d.name, d.kind,
	(SELECT count(*) FROM users u WHERE u.domain = d.name) AS users,
	(SELECT count(DISTINCT a.address) FROM aliases a
	  WHERE a.domain = d.name) AS aliases,
	datetime(d.created, 'unixepoch') AS created_at
FROM domains d;

-- user_overview: users with their times as text and quota in MiB.
CREATE VIEW user_overview AS
SELECT address,
	CASE enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state,
	CASE has_mailbox WHEN 1 THEN 'mailbox' ELSE 'submission-only' END
		AS kind,
	CASE quota WHEN 0 THEN NULL ELSE round(quota / 1048576.0, 1) END
		AS quota_mib,
	substr(password, 1, instr(substr(password, 2), '$') + 1) AS scheme,
	datetime(created, 'unixepoch') AS created_at,
	datetime(password_changed, 'unixepoch') AS password_changed_at
FROM users;

-- alias_overview: each alias with its targets on one line.
CREATE VIEW alias_overview AS
SELECT address, group_concat(target, ', ') AS targets, count(*) AS n
FROM aliases GROUP BY address;
