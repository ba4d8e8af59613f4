#!/usr/bin/perl
# check_refs.pl: every reference in the repository points at something that
# is there.  Run from the repository's top directory with the files to
# check as arguments (tests/integration/test_docs.sh gives it every file
# git tracks, less data); prints one line per broken reference,
# "FILE:LINE: what is wrong", and exits 1 if there is one.
#
# What it follows:
#   - Markdown links [text](path#anchor) outside code blocks, in *.md: the
#     file must exist and the anchor be a heading of it;
#   - a man page cited as NAME(N) "SECTION" (or NAME(N), "SECTION") where
#     doc/NAME.N exists: SECTION must be one of its .SH or .SS headings;
#   - a document cited as FILE "Section" (doc/x.md "Section",
#     README "Section", README.md ("Section")): a heading of that file;
#   - repository paths named anywhere (doc/..., src/..., tests/...,
#     plugins/..., include/..., config/...), with * matched as a glob: the
#     path must exist;
#   - DESIGN.md: the repository's own design document is doc/design.md,
#     and nothing cites the other.
# Comment leaders at line breaks (" * ", "# ", "; ") are read through, so a
# citation may wrap.  Files named in EXPECTED (space-separated, from the
# environment) count as present: pages other branches are adding.
use strict;
use warnings;

my %expected = map { $_ => 1 } split ' ', ($ENV{EXPECTED} // '');
my $bad = 0;
my %headings;    # file => { heading text => 1, slug => 1 }

sub slurp {
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	my $t = <$fh>;
	close($fh);
	return $t;
}

sub slug {
	my ($h) = @_;
	$h = lc($h);
	$h =~ s/[^\w\- ]//g;
	$h =~ s/ /-/g;
	return $h;
}

sub headings_of {
	my ($f) = @_;
	return $headings{$f} if $headings{$f};
	my %h;
	my $t = slurp($f) // '';
	my $fence = 0;
	for my $l (split /\n/, $t) {
		if ($f =~ /\.md$/) {
			$fence = !$fence if $l =~ /^\s*```/;
			next if $fence;
			if ($l =~ /^#+\s+(.*?)\s*$/) {
				$h{$1} = 1;
				$h{'#' . slug($1)} = 1;
			}
		} elsif ($l =~ /^\.S[HS]\s+(.*?)\s*$/) {
			(my $s = $1) =~ s/^"(.*)"$/$1/;
			$s =~ s/\\-/-/g;
			$h{$s} = 1;
		}
	}
	return $headings{$f} = \%h;
}

sub exists_path {
	my ($p) = @_;
	return 1 if $expected{$p};
	return 1 if -e $p;
	if ($p =~ /\*/) {
		my @g = glob($p);
		return 1 if @g && -e $g[0];
	}
	return 0;
}

sub complain {
	my ($f, $n, $msg) = @_;
	print "$f:$n: $msg\n";
	$bad++;
}

# The line number of offset $off in $text.
sub line_at {
	my ($text, $off) = @_;
	return 1 + (() = substr($text, 0, $off) =~ /\n/g);
}

for my $f (@ARGV) {
	my $t = slurp($f);
	next unless defined $t;
	next if $t =~ /\0/;
	my $dir = $f =~ m{^(.*)/} ? $1 : '.';

	if ($f =~ /\.md$/) {
		my $fence = 0;
		my $n = 0;
		for my $l (split /\n/, $t) {
			$n++;
			if ($l =~ /^\s*```/) { $fence = !$fence; next; }
			next if $fence;
			while ($l =~ /\]\(([^)\s]+)\)/g) {
				my $target = $1;
				next if $target =~ m{^[a-z]+:};
				my ($path, $anchor) = split /#/, $target, 2;
				my $file = $path eq '' ? $f : "$dir/$path";
				$file =~ s{^\./}{};
				1 while $file =~ s{[^/]+/\.\./}{};
				if (!exists_path($file)) {
					complain($f, $n, "link to '$target': no file '$file'");
					next;
				}
				next unless defined $anchor;
				next if $expected{$file} && !-e $file;
				if (!headings_of($file)->{"#$anchor"}) {
					complain($f, $n, "link to '$target': '$file' has no heading '#$anchor'");
				}
			}
		}
	}

	# The text with comment leaders at line breaks read through, and
	# where each line starts in it.
	my ($flat, @starts) = ('');
	for my $l (split /\n/, $t, -1) {
		(my $body = $l) =~ s/^[ \t]*(?:\*|#|;|\/\/|--)?[ \t]*//;
		$flat .= ' ' if @starts;
		push @starts, length($flat);
		$flat .= $body;
	}
	my $flatmap = sub {
		my ($off) = @_;
		my $n = 0;
		$n++ while $n < @starts && $starts[$n] <= $off;
		return $n;
	};

	# The checker and its test hold broken references on purpose.
	next if $f eq 'tests/lib/check_refs.pl' || $f eq 'tests/integration/test_docs.sh';

	while ($flat =~ /DESIGN\.md/g) {
		complain($f, $flatmap->(pos($flat)), "cites DESIGN.md: cite doc/design.md");
	}
	while ($flat =~ /\b([a-z][a-z.-]*)\((\d)\),? ?"([^"]+)"/g) {
		my ($name, $sec, $what) = ($1, $2, $3);
		my $page = "doc/$name.$sec";
		next unless -e $page;
		complain($f, $flatmap->($-[0]), "$name($sec) has no section \"$what\"")
			unless headings_of($page)->{$what};
	}
	while ($flat =~ /\b((?:doc\/)?[A-Za-z0-9_.-]+\.md|README|doc\/[a-z.-]+\.[1-8]),? \(?"([^"]+)"/g) {
		my ($doc, $what) = ($1, $2);
		my $file = $doc eq 'README' ? 'README.md' : $doc;
		$file = "doc/$file" if !-e $file && -e "doc/$file";
		next unless -e $file || $expected{$file};
		next if $expected{$file} && !-e $file;
		complain($f, $flatmap->($-[0]), "$doc has no heading \"$what\"")
			unless headings_of($file)->{$what};
	}
	while ($t =~ m#(?<![\w./\$-])((?:doc|src|tests|plugins|include|config)/[A-Za-z0-9_.*/-]*+)(?!\{)#g) {
		my $p = $1;
		my $off = $-[0];
		# Placeholders written in capitals (tests/fuzz/corpus/NAME/) and
		# the build's output trees are not repository paths.
		next if $p =~ /[A-Z]{3,}|_$|[{]/;
		# Another project's tree, cited for comparison.
		next if substr($t, $off > 40 ? $off - 40 : 0, 40) =~ /PostgreSQL's [^()]*\($/;
		$p =~ s/[.-]+$//;
		# A built object names its source.
		(my $src = $p) =~ s/\.so$//;
		complain($f, line_at($t, $off), "names '$p', which does not exist")
			unless exists_path($p) || exists_path("$src.c") ||
			exists_path("$src.cc");
	}
}
exit($bad ? 1 : 0);
