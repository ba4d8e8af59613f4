# docs.sh: read the examples out of the man pages and Markdown guides, for
# the tests that run them or compare them with the files they show
# (tests/integration/test_docs.sh, test_install.sh).  The marks are
# described in doc/HACKING.md "Documentation tests": a man page marks a
# block with a comment `.\" doctest: KIND ...` on the line before `.EX`, a
# Markdown guide with the fence's info string (```sh run).

# roff_unescape: the text of a man page's no-fill block as a reader copies
# it: the escapes the pages use for -, \, quotes and backquotes undone.
roff_unescape() {
	sed -e 's/\\(aq/'"'"'/g' -e 's/\\(dq/"/g' -e 's/\\(ga/`/g' \
		-e 's/\\-/-/g' -e 's/^\\&//' -e 's/\\&//g' -e 's/\\e/\\/g'
}

# man_block PAGE KIND: the first block of PAGE marked `doctest: KIND`
# (KIND may be followed by more words, e.g. "c password_reset_tokens.c"),
# unescaped.
man_block() {
	awk -v kind="$2" '
		index($0, ".\\\" doctest: ") == 1 {
			split(substr($0, 14), w, " ")
			if (w[1] == kind) want = 1
			next
		}
		want && /^\.EX$/ { inblock = 1; next }
		inblock && /^\.EE$/ { exit }
		inblock { print }
	' "$1" | roff_unescape
}

# doc_blocks FILE: every example block of FILE, a man page or a Markdown
# file, as records "FILE:LINE<TAB>LANG<TAB>KIND<TAB>REST", one per block,
# followed by the block's lines each prefixed with a TAB, then an empty
# line.  LANG is the Markdown fence's language ("roff" for a man page);
# KIND is the first word after it (or after "doctest:"), "" when none.
doc_blocks() {
	case $1 in
	*.md)
		awk -v f="$1" '
			!inb && /^[ \t]*```/ {
				info = $0; sub(/^[ \t]*```/, "", info)
				n = split(info, w, " ")
				lang = n ? w[1] : ""; kind = n > 1 ? w[2] : ""
				rest = info; sub(/^[^ ]* *[^ ]* */, "", rest)
				printf "%s:%d\t%s\t%s\t%s\n", f, NR, lang, kind, rest
				indent = $0; sub(/```.*/, "", indent)
				inb = 1; next
			}
			inb && /^[ \t]*```[ \t]*$/ { inb = 0; print ""; next }
			inb { line = $0; if (indent != "" && index(line, indent) == 1) line = substr(line, length(indent) + 1); print "\t" line }
		' "$1"
		;;
	*)
		awk -v f="$1" '
			index($0, ".\\\" doctest:") == 1 {
				mark = $0; sub(/^\.\\" doctest: */, "", mark); next
			}
			/^\.EX$/ {
				n = split(mark, w, " ")
				kind = n ? w[1] : ""
				rest = mark; sub(/^[^ ]* */, "", rest)
				printf "%s:%d\troff\t%s\t%s\n", f, NR, kind, rest
				inb = 1; mark = ""; next
			}
			inb && /^\.EE$/ { inb = 0; print ""; next }
			inb { print "\t" $0 }
			{ if (!inb) mark = "" }
		' "$1" | roff_unescape
		;;
	esac
}
