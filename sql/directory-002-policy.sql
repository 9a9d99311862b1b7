-- directory.db, schema version 2: the data the policy engine reads besides
-- its rule files (sluice.policy(5)): named networks, who may send as which
-- address, and per-user overrides of rate limits.
--
-- Written by sluicectl (network, grant and limit commands), read by the
-- daemons on every connection, MAIL and RCPT, so each lookup is a point
-- read on an index. Names (networks, limits) are stored in lower case and
-- matched case-insensitively by the daemons; addresses are stored
-- normalised as in version 1. Rows that name a user go with the user: the
-- foreign keys cascade when the daemons or sluicectl delete it (the sqlite3
-- shell needs "PRAGMA foreign_keys=ON" for that, as it does not enable
-- foreign keys by default).

-- networks: named sets of client networks, for the policy condition
-- "network NAME" (an office, a partner, the monitoring hosts). A network
-- with several CIDRs has one row per CIDR; a name with no rows matches no
-- client. Names of networks and of limits are 1 to 64 characters: a
-- lower-case letter or digit, then letters, digits, '_', '-' and '.'.
CREATE TABLE networks (
	id	INTEGER PRIMARY KEY,	-- row id
	name	TEXT NOT NULL		-- e.g. office (syntax: see below)
		CHECK (length(name) BETWEEN 1 AND 64
		    AND name GLOB '[a-z0-9]*'
		    AND name NOT GLOB '*[^a-z0-9_.-]*'),
	cidr	TEXT NOT NULL		-- 192.0.2.0/24, 2001:db8::/32: the
		CHECK (length(cidr) BETWEEN 4 AND 49	-- canonical text of
		    AND cidr GLOB '*/[0-9]*'		-- cidr_format(), host
		    AND cidr NOT GLOB '*[^0-9a-f.:/]*'),	-- bits clear
	created	INTEGER NOT NULL	-- when it was added
		DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	UNIQUE (name, cidr)		-- also the index a lookup by name uses
);

-- sender_grants: addresses a user may use as envelope sender (MAIL FROM)
-- and in From: besides their own address and the aliases that deliver to
-- them: a shared support@example.org, or "@example.net" for every address
-- of a domain (an application account sending for a whole domain).
CREATE TABLE sender_grants (
	id	INTEGER PRIMARY KEY,	-- row id
	user	TEXT NOT NULL		-- the user granted, local@domain
		REFERENCES users (address)
		ON DELETE CASCADE ON UPDATE CASCADE,
	pattern	TEXT NOT NULL		-- local@domain: that address; @domain:
		CHECK (pattern = lower(pattern)	-- every address of the
		    AND CASE substr(pattern, 1, 1)	-- domain, not of its
		    WHEN '@' THEN length(pattern) > 1	-- subdomains
			AND instr(substr(pattern, 2), '@') = 0
		    ELSE pattern GLOB '?*@?*' END),
	created	INTEGER NOT NULL	-- when it was added
		DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	UNIQUE (user, pattern)		-- also the index the ownership check
					-- uses: (user, exact or @domain)
);
-- For the operator's question "who may send as support@example.org?".
CREATE INDEX sender_grants_pattern ON sender_grants (pattern);

-- user_limits: per-user values of limits named in the rule files
-- ("limit user_messages = 500 messages per 1h by user"): the number of
-- events the user may cause in the limit's window, in place of the rule
-- file's number (an ISP gives a newsletter account a higher limit). The
-- unit and window stay those of the rule file. 0 allows none.
CREATE TABLE user_limits (
	id	INTEGER PRIMARY KEY,	-- row id
	user	TEXT NOT NULL		-- the user, local@domain
		REFERENCES users (address)
		ON DELETE CASCADE ON UPDATE CASCADE,
	name	TEXT NOT NULL		-- the limit's name in the rule files
		CHECK (length(name) BETWEEN 1 AND 64
		    AND name GLOB '[a-z0-9]*'
		    AND name NOT GLOB '*[^a-z0-9_.-]*'),
	value	INTEGER NOT NULL	-- events allowed per window
		CHECK (value BETWEEN 0 AND 2147483647),
	changed	INTEGER NOT NULL	-- when the value was last set
		DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
	UNIQUE (user, name)		-- one value per user and limit
);

-- network_overview: each named network with its CIDRs on one line.
CREATE VIEW network_overview AS
SELECT name, group_concat(cidr, ', ') AS cidrs, count(*) AS n
FROM (SELECT name, cidr FROM networks ORDER BY name, cidr)
GROUP BY name;

-- sender_grant_overview: every grant with what it covers and whether the
-- user may log in at all.
CREATE VIEW sender_grant_overview AS
SELECT g.user, g.pattern,
	CASE WHEN substr(g.pattern, 1, 1) = '@' THEN 'domain'
	     ELSE 'address' END AS kind,
	CASE u.enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state,
	datetime(g.created, 'unixepoch') AS created_at
FROM sender_grants g JOIN users u ON u.address = g.user;

-- user_limit_overview: per-user limit values with the time they were set.
CREATE VIEW user_limit_overview AS
SELECT user, name AS limit_name, value,
	datetime(changed, 'unixepoch') AS changed_at
FROM user_limits;
