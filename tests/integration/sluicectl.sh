#!/bin/sh
# sluicectl end to end: init, domains, users, aliases, passwords, policy
# data (networks, sender grants, per-user limits), migration from schema 1
# and configuration against real SQLite files, checked with the sqlite3
# shell.
. "$top_srcdir/tests/integration/lib.sh"

conf="$T/sluice.conf"
state="$T/state"
cat >"$conf" <<CONF
state_dir = $state
hostname = mx.example.org
message_size_limit = 10M
CONF
ctl() { "$SLUICECTL" -c "$conf" "$@"; }

# --- init is idempotent -------------------------------------------------
expect_status 0 "init creates the databases" ctl init
for db in directory queue mail; do
	[ -f "$state/$db.db" ] || fail "$db.db missing"
	expect_eq "$(sql "$state/$db.db" 'PRAGMA journal_mode')" wal "$db.db in WAL mode"
	[ "$(sql "$state/$db.db" 'PRAGMA user_version')" -ge 1 ] || fail "$db.db not migrated"
done
expect_status 0 "init again" ctl init
expect_match "$T/out" "up to date" "second init changes nothing"
expect_status 0 "migrate" ctl migrate

# --- domains ---------------------------------------------------------------
expect_status 0 "add local domain" ctl domain add Example.ORG.
expect_status 0 "add relay domain" ctl domain add relay.example relay
expect_status 65 "duplicate domain" ctl domain add example.org
expect_match "$T/err" "already exists" "duplicate domain says so"
expect_status 65 "invalid domain" ctl domain add 'bad_domain..example'
expect_status 64 "bad kind" ctl domain add other.example remote
expect_eq "$(sql "$state/directory.db" "select name||':'||kind from domains order by name")" \
	"example.org:local
relay.example:relay" "domains normalised and stored"

# --- users: passwords from standard input, never argv ---------------------
echo 'correct horse' | ctl user add Alice@Example.org >/dev/null || fail "user add alice"
ok "add alice"
printf 'battery staple\n' | ctl user add bob@example.org --quota 50M >/dev/null || fail "user add bob"
ok "add bob with quota"
echo 'x' | ctl user add carol@corp.example >"$T/out" || fail "user add carol"
expect_match "$T/out" "submission-only" "user of a foreign domain is submission-only"
expect_status 65 "mailbox needs a local domain" sh -c "echo pw | '$SLUICECTL' -c '$conf' user add dave@corp.example --mailbox"
expect_status 65 "empty password refused" sh -c "printf '\n' | '$SLUICECTL' -c '$conf' user add eve@example.org"
expect_status 65 "duplicate user" sh -c "echo pw | '$SLUICECTL' -c '$conf' user add alice@example.org"
expect_status 65 "malformed address" sh -c "echo pw | '$SLUICECTL' -c '$conf' user add 'no-at-sign'"

rows=$(sql "$state/directory.db" "select address, has_mailbox, quota, substr(password,1,3) from users order by address")
expect_eq "$rows" "alice@example.org|1|0|\$y\$
bob@example.org|1|52428800|\$y\$
carol@corp.example|0|0|\$y\$" "users stored lower-cased with yescrypt hashes"

# The password does not appear anywhere in the database file.
if grep -q 'correct horse' "$state"/directory.db*; then fail "plaintext password stored"; fi
ok "no plaintext password on disk"

# --- passwd changes the hash ---------------------------------------------------
before=$(sql "$state/directory.db" "select password from users where address='alice@example.org'")
echo 'new secret' | ctl user passwd alice@example.org >/dev/null || fail "passwd"
after=$(sql "$state/directory.db" "select password from users where address='alice@example.org'")
[ "$before" != "$after" ] || fail "hash unchanged by passwd"
ok "passwd changes the hash"
python3 - "$after" <<'PY' || fail "new hash does not verify 'new secret'"
import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
lib.crypt.restype = ctypes.c_char_p
h = sys.argv[1].encode()
sys.exit(0 if lib.crypt(b"new secret", h) == h and lib.crypt(b"correct horse", h) != h else 1)
PY
ok "new hash verifies the new password only"
# On a terminal the password is prompted for twice, without echo.
python3 - "$SLUICECTL" "$conf" >"$T/pty" 2>&1 <<'PY' || fail "passwd on a terminal: $(cat "$T/pty")"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-c", sys.argv[2], "user", "passwd", "alice@example.org"])
out = b""
def expect(what, deadline=10.0):
    global out
    end = time.time() + deadline
    while what not in out and time.time() < end:
        if not select.select([fd], [], [], max(0.0, end - time.time()))[0]:
            break
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
    if what not in out:
        sys.exit("missing %r in %r" % (what, out))
expect(b"New password: ")
os.write(fd, b"tty secret\n")
expect(b"Retype new password: ")
os.write(fd, b"tty secret\n")
expect(b"changed the password")
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    sys.exit("sluicectl did not exit")
if b"tty secret" in out:
    sys.exit("password echoed: %r" % out)
sys.exit(os.WEXITSTATUS(status))
PY
ok "passwd prompts twice on a terminal without echo"
tty=$(sql "$state/directory.db" "select password from users where address='alice@example.org'")
python3 - "$tty" <<'PY' || fail "terminal password not stored"
import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
lib.crypt.restype = ctypes.c_char_p
h = sys.argv[1].encode()
sys.exit(0 if lib.crypt(b"tty secret", h) == h else 1)
PY
ok "terminal password verifies"
expect_status 65 "passwd of unknown user" sh -c "echo pw | '$SLUICECTL' -c '$conf' user passwd nobody@example.org"

# --- enable / disable / list / del --------------------------------------------------
expect_status 0 "disable" ctl user disable bob@example.org
expect_eq "$(sql "$state/directory.db" "select enabled from users where address='bob@example.org'")" 0 "bob disabled"
expect_status 0 "enable" ctl user enable BOB@example.org
expect_eq "$(sql "$state/directory.db" "select enabled from users where address='bob@example.org'")" 1 "bob enabled"
expect_status 0 "list users of a domain" ctl user list example.org
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 2 "two users in example.org"
expect_status 0 "delete carol" ctl user del carol@corp.example
expect_status 65 "delete carol again" ctl user del carol@corp.example

# --- aliases --------------------------------------------------------------------
expect_status 0 "alias with two targets" ctl alias add team@example.org alice@example.org someone@remote.example
expect_status 65 "alias in a foreign domain" ctl alias add x@corp.example alice@example.org
expect_status 65 "alias to itself" ctl alias add self@example.org self@example.org
expect_eq "$(sql "$state/directory.db" "select targets from alias_overview where address='team@example.org'")" \
	"alice@example.org, someone@remote.example" "alias_overview view"
expect_status 0 "alias del one target" ctl alias del team@example.org someone@remote.example
expect_status 0 "alias list" ctl alias list
expect_eq "$(cat "$T/out")" "team@example.org -> alice@example.org" "one target left"
expect_status 65 "domain with users cannot go" ctl domain del example.org
expect_match "$T/err" "still has users" "domain del explains"

# --- policy data: networks ---------------------------------------------------------
dir_db="$state/directory.db"
expect_status 0 "network add" ctl network add Office 192.0.2.1/24 2001:DB8::/32
expect_match "$T/out" "stored as 192.0.2.0/24" "host bits noted"
expect_eq "$(sql "$dir_db" "select name||' '||cidr from networks order by cidr")" \
	"office 192.0.2.0/24
office 2001:db8::/32" "network names folded, CIDRs canonical"
expect_status 65 "network add with one duplicate" ctl network add office 198.51.100.0/24 192.0.2.0/24
expect_match "$T/err" "already has 192.0.2.0/24" "duplicate CIDR named"
expect_eq "$(sql "$dir_db" "select count(*) from networks")" 2 "network add is all or nothing"
expect_status 65 "invalid CIDR" ctl network add office 192.0.2.0/33
expect_match "$T/err" "not a valid network" "invalid CIDR explained"
expect_status 65 "invalid network name" ctl network add 'off ice' 192.0.2.0/24
expect_status 64 "network add without CIDR" ctl network add office
expect_status 0 "second network" ctl network add monitor 198.51.100.7 ::ffff:203.0.113.0/120
expect_eq "$(sql "$dir_db" "select cidrs from network_overview where name='monitor'")" \
	"198.51.100.7/32, 203.0.113.0/24" "network_overview view, mapped IPv4 stored as IPv4"
expect_status 0 "network list NAME" ctl network list OFFICE
expect_eq "$(awk '{print $1 " " $2}' "$T/out")" "office 192.0.2.0/24
office 2001:db8::/32" "network list shows one network"
expect_status 0 "network del one CIDR" ctl network del office 2001:db8:0::/32
expect_status 65 "network del absent CIDR" ctl network del office 2001:db8::/32
expect_match "$T/err" "has no 2001:db8::/32" "absent CIDR explained"
expect_status 0 "network del whole network" ctl network del monitor
expect_status 65 "network del absent network" ctl network del monitor
expect_eq "$(sql "$dir_db" "select name||' '||cidr from networks")" "office 192.0.2.0/24" "one CIDR left"

# --- policy data: sender grants ------------------------------------------------------
expect_status 0 "grant an address" ctl grant add Alice@Example.org Support@Example.ORG
expect_status 0 "grant a domain" ctl grant add alice@example.org @Apps.Example.
expect_match "$T/out" "any address in apps.example" "domain grant explained"
expect_status 65 "duplicate grant" ctl grant add alice@example.org support@example.org
expect_match "$T/err" "may already send as" "duplicate grant explained"
expect_status 65 "grant to an unknown user" ctl grant add nobody@example.org support@example.org
expect_match "$T/err" "user nobody@example.org does not exist" "unknown user explained"
expect_status 65 "grant of one's own address" ctl grant add alice@example.org ALICE@example.org
expect_status 65 "grant of a bare @" ctl grant add alice@example.org @
expect_status 65 "grant of an address literal" ctl grant add alice@example.org 'x@[192.0.2.1]'
expect_status 65 "grant of a malformed domain" ctl grant add alice@example.org '@bad..example'
expect_status 64 "grant add without a pattern" ctl grant add alice@example.org
expect_eq "$(sql "$dir_db" "select user||' '||pattern||' '||kind||' '||state from sender_grant_overview order by pattern")" \
	"alice@example.org @apps.example domain enabled
alice@example.org support@example.org address enabled" "grants normalised, sender_grant_overview view"
expect_status 0 "grant list USER" ctl grant list alice@example.org
expect_eq "$(wc -l <"$T/out" | tr -d ' ')" 2 "two grants listed"
expect_status 0 "grant del" ctl grant del alice@example.org @apps.example
expect_status 65 "grant del again" ctl grant del alice@example.org @apps.example
expect_match "$T/err" "has no grant for @apps.example" "absent grant explained"

# --- policy data: per-user limits ------------------------------------------------------
expect_status 0 "limit set" ctl limit set alice@example.org User_Messages 5000
expect_status 0 "limit set replaces" ctl limit set ALICE@example.org user_messages 6000
expect_eq "$(sql "$dir_db" "select user||' '||name||' '||value from user_limits")" \
	"alice@example.org user_messages 6000" "one value per user and limit"
expect_status 0 "limit set to zero" ctl limit set alice@example.org user_recipients 0
for bad in -1 2147483648 12abc '' 1e3; do
	expect_status 65 "limit value [$bad] refused" ctl limit set alice@example.org user_messages "$bad"
done
expect_eq "$(sql "$dir_db" "select value from user_limits where name='user_messages'")" 6000 "refused values change nothing"
expect_status 65 "limit of an unknown user" ctl limit set nobody@example.org user_messages 1
expect_status 65 "invalid limit name" ctl limit set alice@example.org 'user messages' 1
expect_status 64 "limit set without a value" ctl limit set alice@example.org user_messages
expect_status 0 "limit list" ctl limit list
expect_eq "$(awk '{print $1 " " $2 " " $3}' "$T/out")" "alice@example.org user_messages 6000
alice@example.org user_recipients 0" "limit list output"
expect_status 0 "limit del" ctl limit del alice@example.org USER_RECIPIENTS
expect_status 65 "limit del again" ctl limit del alice@example.org user_recipients
expect_match "$T/err" "no value of its own" "absent limit explained"

# Deleting a user takes its grants and limits with it.
expect_status 0 "grant for bob" ctl grant add bob@example.org @bob.example
expect_status 0 "limit for bob" ctl limit set bob@example.org user_messages 10
expect_status 0 "delete bob" ctl user del bob@example.org
expect_eq "$(sql "$dir_db" "select count(*) from sender_grants where user='bob@example.org'") $(sql "$dir_db" "select count(*) from user_limits where user='bob@example.org'")" \
	"0 0" "grants and limits of a deleted user are gone"

# --- a version 1 directory.db migrates with its data -------------------------------------
conf1="$T/v1.conf"
state1="$T/v1state"
echo "state_dir = $state1" >"$conf1"
"$SLUICECTL" -c "$conf1" init >/dev/null || fail "init for the v1 test"
rm -f "$state1"/directory.db*
sql "$state1/directory.db" <"$top_srcdir/sql/directory-001-initial.sql"
sql "$state1/directory.db" "PRAGMA journal_mode=WAL" >/dev/null
sql "$state1/directory.db" "INSERT INTO domains (name, kind) VALUES ('old.example', 'local');
INSERT INTO users (address, domain, password) VALUES ('ann@old.example', 'old.example', '\$y\$j9T\$salt\$hash');
INSERT INTO aliases (address, domain, target) VALUES ('info@old.example', 'old.example', 'ann@old.example');
PRAGMA user_version=1"
expect_status 69 "version 1 refused before migrate" "$SLUICECTL" -c "$conf1" network list
expect_match "$T/err" "sluicectl migrate" "old schema says to migrate"
expect_status 0 "migrate a version 1 database" "$SLUICECTL" -c "$conf1" migrate
expect_match "$T/out" "directory.db: migrated schema version 1 to 2" "migrate reports 1 to 2"
expect_eq "$(sql "$state1/directory.db" 'PRAGMA user_version')" 2 "directory.db now version 2"
expect_eq "$(sql "$state1/directory.db" "select address||' '||password from users; select targets from alias_overview; select name||' '||kind from domains")" \
	"ann@old.example \$y\$j9T\$salt\$hash
ann@old.example
old.example local" "version 1 data intact"
expect_status 0 "grant on the migrated database" "$SLUICECTL" -c "$conf1" grant add ann@old.example info@old.example
expect_status 0 "migrate again" "$SLUICECTL" -c "$conf1" migrate
expect_match "$T/out" "directory.db: schema version 2, up to date" "second migrate changes nothing"

# --- policy check and explain --------------------------------------------------
pol="$top_srcdir/policy/default.policy"
expect_status 0 "policy check of the default file" ctl policy check "$pol"
expect_match "$T/out" "ok: [0-9]+ rules" "policy check reports the rules"
printf 'at rcpt: rcpt local =>\n    bounce 550 5.1.1 "x"\n' >"$T/bad.policy"
expect_status 65 "policy check of a broken file" ctl policy check "$T/bad.policy"
expect_match "$T/err" "bad.policy:[12]:" "the error names file and line"
expect_status 0 "explain: a local user on mx" ctl policy explain --policy "$pol" \
	--listener mx --client 192.0.2.1 --from bob@remote.example --to alice@example.org
expect_match "$T/out" "^rcpt +alice@example.org +accept 250" "alice accepted"
expect_match "$T/out" "default.policy:[0-9]+" "the deciding rule is named"
expect_status 1 "explain: relay refused" ctl policy explain --policy "$pol" \
	--listener mx --client 192.0.2.1 --from bob@remote.example \
	--to 'x%remote.example@example.org' --to carol@elsewhere.example
expect_match "$T/out" "x%remote.example@example.org +reject 553 5.7.1" "routing trick refused"
expect_match "$T/out" "carol@elsewhere.example +reject 554 5.7.1" "relay refused"
expect_status 64 "explain needs --to" ctl policy explain --listener mx --client 192.0.2.1 --from a@b.example

# --- config -----------------------------------------------------------------------
expect_status 0 "config shows differences" ctl config
expect_match "$T/out" "^message_size_limit = 10M" "changed key shown"
expect_match "$T/out" "^hostname = mx.example.org" "hostname shown"
if grep -q '^smtp_max_recipients' "$T/out"; then fail "default shown"; fi
ok "defaults not shown"
expect_status 0 "config --example" ctl config --example
# The compiled-in paths follow --prefix; compare the rest.
unprefix() { sed -E 's#[^ "]*/(etc|var/lib|var/run)/sluice#@/\1/sluice#g' "$1"; }
unprefix "$T/out" >"$T/example.built"
unprefix "$top_srcdir/contrib/sluice.conf.example" >"$T/example.shipped"
cmp -s "$T/example.built" "$T/example.shipped" ||
	fail "contrib/sluice.conf.example is stale: regenerate it with sluicectl config --example"
ok "contrib/sluice.conf.example matches the key table"
echo "bogus_key = 1" >>"$conf"
expect_status 78 "unknown key is a configuration error" ctl config
expect_match "$T/err" "sluice.conf:4: .*bogus_key" "error names file and line"

# --- newer schema is refused with advice ------------------------------------
sed -i '$d' "$conf"
sql "$state/directory.db" "PRAGMA user_version=999"
expect_status 69 "newer schema refused" ctl domain list
expect_match "$T/err" "newer than this sluice" "schema error says what happened"

# --- help and usage -----------------------------------------------------------------
for c in init migrate config domain user alias network grant limit; do
	expect_status 0 "$c --help" "$SLUICECTL" "$c" --help
done
expect_status 0 "user add --help" "$SLUICECTL" user add --help
expect_match "$T/out" "standard" "user add help mentions standard input"
for c in "network add" "grant add" "limit set"; do
	expect_status 0 "$c --help" "$SLUICECTL" $c --help
	expect_match "$T/out" "^usage: sluicectl .*$c" "$c --help shows its usage"
done
expect_status 64 "unknown network command" "$SLUICECTL" network frob
expect_status 64 "unknown command" "$SLUICECTL" frobnicate
echo "# $checks checks passed"
