#!/bin/sh
# build-deb.sh: turn the staging tree of `make deb` into the two Debian
# packages, without a debian/ directory in the source tree.
#
#   DEB_VERSION=1.0.0-1 DEB_MAINTAINER='Name <addr>' MAN_PAGES='...' \
#       sh config/deb/build-deb.sh DEB_BUILD
#
# `make deb` has installed everything into DEB_BUILD/stage exactly as
# `make install` installs it (PREFIX=/usr).  This script does what
# debhelper would: it splits the tree into mfa-sweeper (the program, the
# plugins, the units, the man pages, the example config) and
# mfa-sweeper-dev (the header, the pkg-config file, the example plugins'
# sources); strips the binaries, compresses the man pages and changelog
# with gzip -9n, writes copyright from LICENSE, computes Depends with
# dpkg-shlibdeps, writes md5sums and control from config/deb/*.control.in,
# and builds DEB_BUILD/NAME_VERSION_ARCH.deb with dpkg-deb
# --root-owner-group, so that it needs neither root nor fakeroot.
set -eu

[ $# -eq 1 ] || { echo "usage: build-deb.sh DEB_BUILD" >&2; exit 64; }
: "${DEB_VERSION:?DEB_VERSION is not set; run make deb}"
: "${DEB_MAINTAINER:?DEB_MAINTAINER is not set; run make deb}"
MAN_PAGES=${MAN_PAGES:-}

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(cd "$1" && pwd)
STAGE=$OUT/stage
ARCH=$(dpkg --print-architecture)
MAIN=mfa-sweeper
DEV=mfa-sweeper-dev
# The package trees are named as debhelper names them, so that
# dpkg-shlibdeps, run from $OUT, finds each binary in its package.
TREES=$OUT/debian
# The changelog's date: the commit's, so that two builds of one commit
# give the same packages.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

umask 022
rm -rf "$TREES"
mkdir -p "$TREES/$MAIN/DEBIAN" "$TREES/$DEV/DEBIAN"

# Everything goes to the main package but what a plugin author needs.
cp -a "$STAGE/." "$TREES/$MAIN/"
move_to_dev() {
	mkdir -p "$TREES/$DEV/$(dirname "$1")"
	mv "$TREES/$MAIN/$1" "$TREES/$DEV/$1"
}
move_to_dev usr/include
move_to_dev usr/share/pkgconfig
move_to_dev usr/share/doc/$DEV
# The operator's own /etc/mfa-sweeper (config and secrets) is theirs:
# the package owns the directory, never a file in it.
if [ -n "$(find "$TREES/$MAIN/etc" -type f)" ]; then
	echo "build-deb.sh: files under /etc in the staging tree; a package ships none" >&2
	exit 1
fi

# Every man page doc/ has must have been installed.
for page in $MAN_PAGES; do
	f=$TREES/$MAIN/usr/share/man/man${page##*.}/$page
	[ -f "$f" ] || { echo "build-deb.sh: $page was not installed" >&2; exit 1; }
	gzip -9n "$f"
done

# Stripped as dh_strip strips: the debug information stays in the build
# tree (the sweeper's is built with -g).
strip --remove-section=.comment --remove-section=.note \
	"$TREES/$MAIN/usr/bin/mfa-sweeper"
find "$TREES/$MAIN/usr/lib/mfa-sweeper/plugins" -name '*.so' -exec \
	strip --remove-section=.comment --remove-section=.note --strip-unneeded {} +
find "$TREES/$MAIN/usr/lib/mfa-sweeper/plugins" -name '*.so' -exec chmod 0644 {} +

# copyright (machine-readable, with the text of LICENSE) and the
# changelog, in each package's own /usr/share/doc.
copyright() {
	holder=$(sed -n 's/^Copyright (c) //p' "$SRC/LICENSE" | head -n 1)
	printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
	printf 'Upstream-Name: mfa-sweeper\n\n'
	printf 'Files: *\nCopyright: %s\nLicense: Expat\n' "$holder"
	# The license text after its title and copyright line, indented,
	# blank lines as " .".
	sed -e '1,/^Copyright /d' "$SRC/LICENSE" | sed -e '/./,$!d' \
		-e 's/^$/./' -e 's/^/ /'
}
for p in $MAIN $DEV; do
	d=$TREES/$p/usr/share/doc/$p
	mkdir -p "$d"
	copyright >"$d/copyright"
	sed -e "s|@VERSION@|$DEB_VERSION|g" -e "s|@MAINTAINER@|$DEB_MAINTAINER|g" \
		-e "s|@DATE@|$(date -u -R -d "@$SOURCE_DATE_EPOCH")|g" \
		"$SRC/config/deb/changelog.in" | gzip -9n >"$d/changelog.Debian.gz"
done

# What lintian is told to accept, and why (the comments in the files).
for p in $MAIN $DEV; do
	mkdir -p "$TREES/$p/usr/share/lintian/overrides"
	install -m 0644 "$SRC/config/deb/$p.lintian-overrides" \
		"$TREES/$p/usr/share/lintian/overrides/$p"
done

# The shared libraries the program and the plugins link: Depends.
printf 'Source: mfa-sweeper\n\nPackage: %s\nArchitecture: any\n\nPackage: %s\nArchitecture: any\n' \
	$MAIN $DEV >"$TREES/control"
DEPENDS=$(cd "$OUT" && dpkg-shlibdeps -O "debian/$MAIN/usr/bin/mfa-sweeper" \
	debian/$MAIN/usr/lib/mfa-sweeper/plugins/*.so | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
rm -f "$TREES/control"

for p in $MAIN $DEV; do
	t=$TREES/$p
	find "$t" -type d -exec chmod 0755 {} +
	(cd "$t" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		LC_ALL=C sort -z | xargs -0r md5sum) >"$t/DEBIAN/md5sums"
	size=$(du -k -s --exclude=DEBIAN "$t" | cut -f1)
	sed -e "s|@VERSION@|$DEB_VERSION|g" -e "s|@ARCH@|$ARCH|g" \
		-e "s|@MAINTAINER@|$DEB_MAINTAINER|g" -e "s|@INSTALLED_SIZE@|$size|g" \
		-e "s|@DEPENDS@|$DEPENDS|g" "$SRC/config/deb/$p.control.in" \
		>"$t/DEBIAN/control"
	chmod 0644 "$t/DEBIAN/control" "$t/DEBIAN/md5sums"
	dpkg-deb --root-owner-group -Zxz --build "$t" "$OUT/${p}_${DEB_VERSION}_$ARCH.deb"
done
