#!/bin/bash
# The documentation cannot drift from the program (doc/HACKING.md
# "Documentation tests"): the man pages lint clean; every config key the
# program knows and every option of --help is in the man pages; no
# reference in the repository points at a file or section that is not
# there; and every shell and config block of the man pages and the guides
# is marked, and the runnable ones run against the test server.
. "$(dirname "$0")/../lib/assert.sh"
. "$(dirname "$0")/../lib/docs.sh"

MAN_PAGES=("$T_ROOT"/doc/*.[1-8])
# The pages and guides whose blocks are examples a reader follows.
DOC_FILES=("$T_ROOT"/README.md "$T_ROOT"/doc/*.md "${MAN_PAGES[@]}")
# Pages other branches are adding; a reference to one counts as present
# until it is there, and is checked once it is.
EXPECTED_PAGES="doc/workers.md doc/fleet.md doc/benchmarks.md"

t_man_pages_lint_clean() {
	[ ${#MAN_PAGES[@]} -ge 3 ] || die "no man pages in doc/: ${MAN_PAGES[*]}"
	command -v mandoc >/dev/null || die "mandoc is missing; run make deps"
	local page out
	for page in "${MAN_PAGES[@]}"; do
		# Every level, style included: a page that lints with
		# anything at all to say fails.
		out=$(mandoc -Tlint -W all "$page" 2>&1)
		assert_eq "$out" "" "mandoc -Tlint $(basename "$page")"
	done
	for page in mfa-sweeper.1 mfa-sweeper.ini.5 mfa-sweeper-plugin.7; do
		[ -f "$T_ROOT/doc/$page" ] || fail "doc/$page is missing"
	done
}

# The keys the shipped rules declare, as the program lists them: lines
# "[rule.NAME] KEY (TYPE..., default DEFAULT): help".
plugin_keys() {
	cfg_write <<EOF
[database]
dsn = dbname=nowhere

[sweeper]
plugin_dir = $PLUGIN_DIR
EOF
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules with the built-in rules"
	sed -n 's/^  \(\[rule\.[a-z0-9_]*\]\) \([a-z0-9_]*\) (.*default \([^)]*\)):.*/\1 \2 \3/p' <<<"$OUT"
}

t_rule_keys_documented() {
	local section key default n=0 man sec ini line
	man=$(cat "$T_ROOT/doc/mfa-sweeper.ini.5")
	ini=$(cat "$T_ROOT/config/mfa-sweeper.ini")
	while read -r section key default; do
		n=$((n + 1))
		# The page's section for the rule, up to the next .SH.
		sec=$(awk -v h=".SH $section" '$0 == h { s = 1; next } s && /^\.SH/ { exit } s' <<<"$man")
		[ -n "$sec" ] || { fail "doc/mfa-sweeper.ini.5 has no '.SH $section'"; continue; }
		line=$(grep -F ".BR $key \"" <<<"$sec")
		assert_contains "$line" "default $default)" "doc/mfa-sweeper.ini.5 $section $key, with its default"
		sec=$(awk -v h="$section" '$0 == h { s = 1; next } s && /^\[/ { exit } s' <<<"$ini")
		assert_contains "$sec" "
$key = $default" "config/mfa-sweeper.ini $section $key = $default"
	done < <(plugin_keys)
	# user_disabled 2, stale_devices 2, used_backup_codes 1.
	[ "$n" -ge 5 ] || fail "--list-rules listed $n keys of the built-in rules: $OUT"
}

t_help_options_documented() {
	local opt roff page n=0
	sweep --help
	assert_exit 0 "--help"
	# The options the page describes: the tags of OPTIONS, unescaped.
	page=$(awk '/^\.SH OPTIONS/ { s = 1; next } s && /^\.SH/ { exit }
		    s && prev == ".TP" { print } { prev = $0 }' "$T_ROOT/doc/mfa-sweeper.1" |
		sed 's/\\-/-/g' | grep -oE -- '--[a-z-]+|(^|[ "])-[a-zA-Z]\b' | tr -d ' "' | sort -u)
	# Every option --help describes, short and long.
	for opt in $(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' <<<"$OUT" | tr -d ' ,' | sort -u); do
		n=$((n + 1))
		grep -qxF -- "$opt" <<<"$page" ||
			fail "option '$opt' of --help is not in OPTIONS of doc/mfa-sweeper.1"
	done
	[ "$n" -ge 25 ] || fail "found only $n options in --help: $OUT"
	# And every option the page describes exists.
	for opt in $page; do
		grep -qE -- "(^|[ ,])$opt([ ,=]|\$)" <<<"$OUT" ||
			fail "option '$opt' of doc/mfa-sweeper.1 is not in --help"
	done
}

t_references_resolve() {
	local out
	out=$(cd "$T_ROOT" && EXPECTED=$EXPECTED_PAGES perl tests/lib/check_refs.pl \
		$(git ls-files 2>/dev/null | grep -v '^tests/fuzz/corpus/' ||
		  find . -type f -not -path './.git/*' -not -path './build*' \
		  -not -path './tests/fuzz/corpus/*' | sed 's|^\./||'))
	assert_eq "$out" "" "references to files and sections that are not there"
	# Nothing cites a README section any more: the text lives in the
	# pages and guides now.
	out=$(cd "$T_ROOT" && grep -rnE 'README(\.md)?,? \(?"' src include plugins tests config Makefile \
		--exclude=check_refs.pl --exclude=test_docs.sh)
	assert_eq "$out" "" "comments citing README sections"
	# The checker itself finds what it must.
	mkdir -p "$T_DIR/refs/doc" "$T_DIR/refs/src"
	cp "$T_ROOT/doc/design.md" "$T_DIR/refs/doc/"
	printf '/* doc/design.md "How a run goes"; doc/gone.md; see\n * doc/design.md\n * "Modes" */\n' >"$T_DIR/refs/src/x.h"
	printf '[a](doc/design.md#modes) [b](doc/design.md#nope)\n' >"$T_DIR/refs/x.md"
	out=$(cd "$T_DIR/refs" && perl "$T_ROOT/tests/lib/check_refs.pl" src/x.h x.md)
	assert_contains "$out" 'src/x.h:1: doc/design.md has no heading "How a run goes"' "a wrong section"
	assert_contains "$out" "src/x.h:1: names 'doc/gone.md'" "a missing file"
	assert_not_contains "$out" '"Modes"' "a citation wrapped over comment lines"
	assert_contains "$out" "x.md:1: link to 'doc/design.md#nope'" "a wrong anchor"
	assert_not_contains "$out" "#modes'" "a right anchor"
}

# Every block of every page, one record per line: FILE:LINE, LANG, KIND.
block_heads() {
	local f
	for f in "${DOC_FILES[@]}"; do
		doc_blocks "$f" | grep -vE '^(	|$)'
	done
}

t_example_blocks_marked() {
	local where lang kind rest n=0
	while IFS=$'\t' read -r where lang kind rest; do
		n=$((n + 1))
		case $lang in
		sh | bash | shell | console | ini | roff) ;;
		*) continue ;;
		esac
		case $kind in
		run | config | output | code | c | output-of) ;;
		norun) [ -n "$rest" ] || fail "${where#"$T_ROOT"/}: a 'norun' block says not why" ;;
		*) fail "${where#"$T_ROOT"/}: a $lang block marked '$kind': mark it run, config, norun REASON, output, code, c FILE or output-of COMMAND" ;;
		esac
	done < <(block_heads)
	[ "$n" -ge 40 ] || fail "found only $n example blocks"
	# A fence left open turns the rest of a guide into code, its links
	# into text.
	local f fences
	for f in "$T_ROOT"/README.md "$T_ROOT"/doc/*.md; do
		fences=$(grep -cE '^[[:space:]]*```' "$f")
		[ $((fences % 2)) = 0 ] || fail "${f#"$T_ROOT"/}: $fences code fences, one left open"
	done
}

# doc_setup: a database of the test server with the tables every example
# uses, the built-in and example plugins in a directory of their own, and
# a config for it all ($T_DIR/test.ini, also $MFA_SWEEPER_CONFIG), with
# mfa-sweeper on PATH.
doc_setup() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	fx_reset_tokens
	fx_reset_tokens accounts_passwordresettoken
	DOC_PLUGINS=$T_DIR/plugins
	install -d -m 0755 "$DOC_PLUGINS"
	install -m 0644 "$PLUGIN_DIR"/*.so "$EXAMPLE_PLUGIN_DIR"/password_reset_tokens.so "$DOC_PLUGINS/"
	mkdir -p "$T_DIR/bin" "$T_DIR/work"
	ln -sf "$SWEEPER_BIN" "$T_DIR/bin/mfa-sweeper"
	cat >"$T_DIR/test.ini" <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $DOC_PLUGINS
rules = user_disabled, stale_devices, used_backup_codes, password_reset_tokens
EOF
	cp "$T_DIR/test.ini" "$T_DIR/work/test.ini"
}

# Each block of KIND in the pages, as files $T_DIR/blocks/N with their
# origin in $T_DIR/blocks/N.where (and the words after KIND in N.rest).
split_blocks() {
	local want=$1 f
	rm -rf "$T_DIR/blocks"
	mkdir -p "$T_DIR/blocks"
	for f in "${DOC_FILES[@]}"; do
		doc_blocks "$f"
	done | awk -v want="$want" -v dir="$T_DIR/blocks" '
		/^[^\t]/ && NF {
			split($0, h, "\t")
			on = h[3] == want
			if (on) {
				n++
				printf "%s\n", h[1] > (dir "/" n ".where")
				printf "%s\n", h[4] > (dir "/" n ".rest")
				printf "" > (dir "/" n)
			}
			next
		}
		on && /^\t/ { print substr($0, 2) > (dir "/" n) }
		/^$/ { on = 0 }
	'
}

t_config_examples_check() {
	doc_setup
	split_blocks config
	local b n=0 cfg where
	for b in "$T_DIR"/blocks/*.where; do
		b=${b%.where}
		n=$((n + 1))
		where=$(cat "$b.where")
		where=${where#"$T_ROOT"/}
		# The block, with the database and plugins of the test server
		# in place of the ones it names (a section may repeat).
		cfg=$T_DIR/work/example-$n.ini
		{
			printf '[database]\ndsn = dbname=%s\n\n[sweeper]\nplugin_dir = %s\n\n' "$DB" "$DOC_PLUGINS"
			grep -vE '^[[:space:]]*(dsn|password_file|plugin_dir)[[:space:]]*=' "$b"
		} >"$cfg"
		# A signing key where the block names one.
		if grep -qE '^secret_file *= *webhook-secret' "$cfg"; then
			printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$T_DIR/work/webhook-secret"
			chmod 600 "$T_DIR/work/webhook-secret"
		fi
		# A lease table where the block runs behind a transaction pooler.
		if grep -qE '^pooler *= *transaction' "$cfg"; then
			sweep -c "$cfg" --init-ledger
			assert_exit 0 "$where: --init-ledger for its lease table"
		fi
		SWEEP_CMD="env -u CREDENTIALS_DIRECTORY mfa-sweeper -c $cfg --check-config"
		sweep -c "$cfg" --check-config
		assert_exit 0 "$where: --check-config of the config block" || note "$(cat "$cfg")"
	done
	[ "$n" -ge 5 ] || fail "found only $n config blocks"
}

t_run_examples_run() {
	doc_setup
	split_blocks run
	local b n=0 where rc
	for b in "$T_DIR"/blocks/*.where; do
		b=${b%.where}
		n=$((n + 1))
		where=$(cat "$b.where")
		where=${where#"$T_ROOT"/}
		(
			cd "$T_DIR/work" || exit 99
			export PATH=$T_DIR/bin:$PATH MFA_SWEEPER_CONFIG=$T_DIR/test.ini
			unset CREDENTIALS_DIRECTORY
			timeout -k 5 "$T_SWEEP_TIMEOUT" bash -e -o pipefail "$b"
		) >"$T_DIR/run.out" 2>&1 </dev/null
		rc=$?
		if [ "$rc" != 0 ]; then
			fail "$where: the block exited $rc"
			note "block: $(cat "$b")"
			note "output: $(tail -n 20 "$T_DIR/run.out")"
		fi
	done
	[ "$n" -ge 6 ] || fail "found only $n runnable blocks"
}

t_output_examples_match() {
	doc_setup
	local b where cmd
	split_blocks output-of
	for b in "$T_DIR"/blocks/*.where; do
		b=${b%.where}
		where=$(cat "$b.where")
		where=${where#"$T_ROOT"/}
		cmd=$(cat "$b.rest")
		(
			cd "$T_DIR/work" || exit 99
			export PATH=$T_DIR/bin:$PATH MFA_SWEEPER_CONFIG=$T_DIR/test.ini
			bash -e -c "$cmd"
		) >"$T_DIR/got" 2>"$T_DIR/got.err" </dev/null ||
			fail "$where: '$cmd' failed: $(cat "$T_DIR/got.err")"
		cmp -s "$b" "$T_DIR/got" ||
			fail "$where: the block is not what '$cmd' prints: $(diff "$b" "$T_DIR/got" | head -n 10)"
	done
	[ -e "$T_DIR/blocks/1" ] || fail "no output-of block"
	split_blocks c
	for b in "$T_DIR"/blocks/*.where; do
		b=${b%.where}
		where=$(cat "$b.where")
		cmd=$(cat "$b.rest")
		cmp -s "$b" "$T_ROOT/plugins/examples/$cmd" ||
			fail "${where#"$T_ROOT"/}: the block is not plugins/examples/$cmd: $(diff "$b" "$T_ROOT/plugins/examples/$cmd" | head -n 10)"
	done
	[ -e "$T_DIR/blocks/1" ] || fail "no c block"
}

run_tests "$@"
