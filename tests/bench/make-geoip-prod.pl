#!/usr/bin/perl
#
# NAME
#	make-geoip-prod.pl - write a GeoIP2 City database of production size
#
# SYNOPSIS
#	perl tests/bench/make-geoip-prod.pl [-4 N4] [-6 N6] [-s SEED] OUTDIR
#
# DESCRIPTION
#	Writes OUTDIR/city.mmdb, shaped like GeoLite2-City (record size 28,
#	IPv6 tree with IPv4 aliased into ::ffff:0:0/96, database type
#	GeoLite2-City), and OUTDIR/addrs.txt, one address a line inside
#	networks of the database (spread over all of them, IPv4 and IPv6),
#	for the benchmark's clients, and OUTDIR/info.txt ("networks=N
#	ipv4=N ipv6=N nodes=N records=N places=N": networks inserted, search
#	tree nodes, distinct records and geoname ids generated).
#
#	N4 IPv4 networks (default 3,000,000) and N6 IPv6 networks (default
#	800,000) are laid out from a seeded generator (SEED, default 1) so
#	the same arguments always give the same file: IPv4 networks in the
#	publicly routed /8s, prefix lengths mostly /24 to /32 with some /16
#	to /23 as GeoLite2 has; IPv6 networks under the RIR blocks of
#	2000::/3, mostly /32 to /64.  Networks are mostly adjacent, with a
#	gap now and then, as GeoLite2 covers nearly all routed space (about
#	one tree node per network).  Each run of networks belongs to one
#	country; each network gets one of its cities (GeoLite2 has about
#	140,000) or, for one in eight, the country alone.  Records carry
#	continent, country, registered_country, subdivisions, city,
#	location (coordinates, accuracy radius, time zone) and postal code,
#	with names in the eight languages GeoLite2 ships (de, en, es, fr,
#	ja, pt-BR, ru, zh-CN; non-Latin scripts for ja, ru, zh-CN); each
#	city has several postal codes with their own coordinates, so most
#	records are distinct, as in GeoLite2.
#
#	MaxMind::DB::Writer::Tree's insert_network() serializes and hashes
#	the record on every call (Sereal + SHA-1) to find equal records;
#	this script computes each record's key once and passes it to the
#	tree's own _insert_network(), which is what insert_network() calls.
#
# DIAGNOSTICS
#	Exits non-zero with a message on stderr when OUTDIR is missing or a
#	file cannot be written.
use strict;
use warnings;
use utf8;

use Digest::SHA qw(sha1_base64);
use Getopt::Std;
use Time::HiRes qw(time);
use MaxMind::DB::Writer::Tree;

my %opt;
getopts('4:6:s:', \%opt) or die "usage: $0 [-4 N4] [-6 N6] [-s SEED] OUTDIR\n";
my $out = shift @ARGV or die "usage: $0 [-4 N4] [-6 N6] [-s SEED] OUTDIR\n";
-d $out or die "$0: $out: not a directory\n";
my $N4   = $opt{4} // 3_000_000;
my $N6   = $opt{6} // 800_000;
my $SEED = $opt{s} // 1;

# a small deterministic generator (xorshift64*), independent of perl's rand
my $rng = (0x9E3779B9 << 32 | 0x7F4A7C15) ^ $SEED;
sub rnd {	# rnd(N) - an integer in [0, N)
	use integer;
	$rng ^= ($rng >> 12) & (1 << 52) - 1;
	$rng ^= $rng << 25;
	$rng ^= ($rng >> 27) & (1 << 37) - 1;
	my $x = ($rng * (0x2545F491 << 32 | 0x4F6CDD1D)) >> 11;
	$x &= (1 << 53) - 1;
	no integer;
	return $x % $_[0];
}

my @langs = qw(de en es fr ja pt-BR ru zh-CN);
my @syl = qw(ka ri mo an el ber ton sa lu vi na dor gar mi ste ho pal
    ran qu is ul fen tro bas li ne wal ken mor ta zu);
my @kana = map { chr } 0x30A2 .. 0x30F3;
my @cyr  = map { chr } 0x0430 .. 0x044F;
my @han  = map { chr } 0x4E00 .. 0x4FFF;

# word - a capitalised made-up name of 2 to 4 syllables
sub word {
	my $w = join '', map { $syl[ rnd(scalar @syl) ] } 1 .. 2 + rnd(3);
	return ucfirst $w;
}

# names - the eight languages' names of a place called BASE
sub names {
	my ($base) = @_;
	my %n = map { $_ => $base } qw(de en es fr pt-BR);
	$n{de} .= 'er Land' if rnd(10) == 0;
	$n{fr} = "Saint-$base" if rnd(12) == 0;
	$n{ja} = join '', map { $kana[ rnd(scalar @kana) ] } 1 .. 2 + rnd(5);
	$n{ru} = ucfirst join '', map { $cyr[ rnd(scalar @cyr) ] } 1 .. 4 + rnd(7);
	$n{'zh-CN'} = join '', map { $han[ rnd(scalar @han) ] } 1 .. 2 + rnd(3);
	delete @n{qw(ja ru zh-CN)} if rnd(4) == 0;	# not every place has them
	return \%n;
}

my $gid = 1_000_000;	# geoname ids

# continents, countries, subdivisions, cities
my @continents = map {
	{ code => $_->[0], geoname_id => $gid++, names => names($_->[1]) }
} ([ 'AF', 'Africa' ], [ 'AN', 'Antarctica' ], [ 'AS', 'Asia' ],
   [ 'EU', 'Europe' ], [ 'NA', 'North America' ], [ 'OC', 'Oceania' ],
   [ 'SA', 'South America' ]);
my @countries;
my %iso_seen;
while (@countries < 240) {
	my $iso = chr(65 + rnd(26)) . chr(65 + rnd(26));
	next if $iso_seen{$iso}++;
	my $lat = rnd(140) - 60 + rnd(1000) / 1000;
	my $lon = rnd(360) - 180 + rnd(1000) / 1000;
	my $c = {
		continent => $continents[ rnd(scalar @continents) ],
		country   => { geoname_id => $gid++, iso_code => $iso,
			       names => names(word()) },
		lat       => $lat,
		lon       => $lon,
		tz        => 'Etc/GMT' . ($lon < 0 ? '+' : '-') . int(abs($lon) / 15),
		cities    => [],
	};
	$c->{country}{is_in_european_union} = 1 if rnd(8) == 0;
	# the country-only record: coordinates of the country, 1000 km
	$c->{only} = {
		continent          => $c->{continent},
		country            => $c->{country},
		registered_country => $c->{country},
		location           => { latitude => $lat, longitude => $lon,
					accuracy_radius => 1000, time_zone => $c->{tz} },
	};
	$c->{only_key} = sha1_base64("c$iso");
	# subdivisions and cities: a few big countries hold most cities
	my $nsub = 2 + rnd(rnd(8) == 0 ? 90 : 20);
	my $ncity = rnd(6) == 0 ? 1000 + rnd(3000) : 30 + rnd(300);
	my @subs = map {
		{ geoname_id => $gid++, iso_code => sprintf('%02d', $_),
		  names => names(word() . (rnd(3) ? '' : ' ' . word())) }
	} 1 .. $nsub;
	for my $i (1 .. $ncity) {
		my $sub = $subs[ rnd($nsub) ];
		my $city = { geoname_id => $gid++, names => names(word()) };
		my $clat = $lat + (rnd(2000) - 1000) / 200;
		my $clon = $lon + (rnd(2000) - 1000) / 200;
		my $sites = 1 + rnd(4);
		for my $s (1 .. $sites) {	# postal codes with their own place
			my $postal = sprintf('%05d', rnd(100000));
			push @{ $c->{cities} }, [ sha1_base64("c$gid:$postal"), {
				continent          => $c->{continent},
				country            => $c->{country},
				registered_country => $c->{country},
				subdivisions       => [ $sub ],
				city               => $city,
				postal             => { code => $postal },
				location           => {
					latitude => 0 + sprintf('%.4f', $clat + (rnd(200) - 100) / 1000),
					longitude => 0 + sprintf('%.4f', $clon + (rnd(200) - 100) / 1000),
					accuracy_radius => (5, 10, 20, 50, 100, 200)[ rnd(6) ],
					time_zone => $c->{tz} },
			} ];
		}
	}
	push @countries, $c;
}
my $t0 = time;
my $nrecords = scalar @countries;
$nrecords += scalar @{ $_->{cities} } for @countries;

my %types = (
	city                  => 'map',
	continent             => 'map',
	country               => 'map',
	registered_country    => 'map',
	subdivisions          => [ 'array', 'map' ],
	location              => 'map',
	postal                => 'map',
	names                 => 'map',
	code                  => 'utf8_string',
	iso_code              => 'utf8_string',
	geoname_id            => 'uint32',
	is_in_european_union  => 'boolean',
	latitude              => 'double',
	longitude             => 'double',
	accuracy_radius       => 'uint16',
	time_zone             => 'utf8_string',
	(map { $_ => 'utf8_string' } @langs),
);

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version               => 6,
	record_size              => 28,
	database_type            => 'GeoLite2-City',
	languages                => \@langs,
	description              => { en => 'Beacon benchmark GeoLite2-City shaped database' },
	map_key_type_callback    => sub { $types{ $_[0] } },
	remove_reserved_networks => 0,
	alias_ipv6_to_ipv4       => 1,
);

# record - a country's record for one network: a city site, or the country alone
sub record {
	my ($c) = @_;
	return ($c->{only_key}, $c->{only}) if rnd(8) == 0;
	my $r = $c->{cities}[ rnd(scalar @{ $c->{cities} }) ];
	return @$r;
}

# sample addresses: one in every SAMPLE-th network, at a random offset
my @addrs;
my $total = $N4 + $N6;
my $sample = int($total / 65536) || 1;
my $n = 0;

# IPv4: walk the routed /8s, runs of networks per country, now and then a gap
my @v4_8 = grep { $_ != 10 && $_ != 127 && $_ != 0 && $_ != 100 } 1 .. 223;
my $per8 = int($N4 / @v4_8) + 1;
my $ins = 0;
for my $o (@v4_8) {
	my $cur = $o << 24;
	my $end = ($o + 1) << 24;
	my $done = 0;
	my $c;
	while ($done < $per8 && $ins < $N4 && $cur < $end) {
		$c = $countries[ rnd(scalar @countries) ] if !$c || rnd(40) == 0;
		# /24 .. /32 mostly, sometimes /16 .. /23 (GeoLite2's spread)
		my $r = rnd(100);
		my $plen = $r < 10 ? 16 + rnd(8) : $r < 55 ? 24 : 25 + rnd(8);
		# align: a network starts on a multiple of its size
		while ($plen < 32 && ($cur & ((1 << (32 - $plen)) - 1))) { $plen++ }
		my $size = 1 << (32 - $plen);
		last if $cur + $size > $end;
		my ($key, $data) = record($c);
		my $ip = join '.', $cur >> 24, ($cur >> 16) & 255, ($cur >> 8) & 255, $cur & 255;
		$tree->_insert_network($ip, $plen, $key, $data, '');
		if ($n++ % $sample == 0) {
			my $a = $cur + rnd($size);
			push @addrs, join '.', $a >> 24, ($a >> 16) & 255, ($a >> 8) & 255, $a & 255;
		}
		$ins++;
		$done++;
		$cur += $size;
		# a gap (unassigned or not located space) now and then, of whole /24s:
		# GeoLite2 covers nearly all routed space, so its networks are mostly
		# adjacent and its tree has about one node per network
		$cur += (1 + rnd(64)) << 8 if rnd(50) == 0;
	}
}
my $n4 = $ins;

# IPv6: networks under the RIR blocks, top 64 bits as a native integer
my @rir = (0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00);
my $per = int($N6 / @rir) + 1;
$ins = 0;
for my $blk (@rir) {
	# 2001::/32 (Teredo) is aliased to IPv4 by the writer: 2001:200::/23 up
	my $cur = $blk == 0x2001 ? 0x20010200 << 32 : $blk << 48;
	my $span = $blk == 0x2001 ? (1 << 48) - (0x200 << 32) : 1 << 52;
	my $end = $cur + $span;
	my $c;
	my $done = 0;
	while ($done < $per && $ins < $N6 && $cur < $end) {
		$c = $countries[ rnd(scalar @countries) ] if !$c || rnd(20) == 0;
		my $r = rnd(100);
		my $plen = $r < 15 ? 32 : $r < 25 ? 36 + rnd(8) : $r < 75 ? 48 : 49 + rnd(16);
		while ($plen < 64 && ($cur & ((1 << (64 - $plen)) - 1))) { $plen++ }
		my $size = 1 << (64 - $plen);
		last if $cur + $size > $end;
		my ($key, $data) = record($c);
		my $ip = sprintf '%x:%x:%x:%x::', $cur >> 48, ($cur >> 32) & 0xffff,
		    ($cur >> 16) & 0xffff, $cur & 0xffff;
		$tree->_insert_network($ip, $plen, $key, $data, '');
		if ($n++ % $sample == 0) {
			my $a = $cur + rnd($size);
			push @addrs, sprintf '%x:%x:%x:%x::%x', $a >> 48, ($a >> 32) & 0xffff,
			    ($a >> 16) & 0xffff, $a & 0xffff, 1 + rnd(65535);
		}
		$ins++;
		$done++;
		$cur += $size;
		$cur += (1 + rnd(64)) << 16 if rnd(50) == 0;	# whole /48s
	}
}
my $n6 = $ins;

my $t1 = time;
my $path = "$out/city.mmdb";
open my $fh, '>:raw', "$path.tmp" or die "$0: $path.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$0: $path.tmp: $!\n";
rename "$path.tmp", $path or die "$0: $path: $!\n";

open my $af, '>', "$out/addrs.txt" or die "$0: $out/addrs.txt: $!\n";
print $af "$_\n" for @addrs;
close $af or die "$0: $out/addrs.txt: $!\n";

open my $if, '>', "$out/info.txt" or die "$0: $out/info.txt: $!\n";
my $t2 = time;
printf STDERR "%s: places %.1f s, %d inserts %.1f s, write %.1f s\n", $0,
    $t0 - $^T, $n4 + $n6, $t1 - $t0, $t2 - $t1;
printf $if "networks=%d ipv4=%d ipv6=%d nodes=%d records=%d places=%d\n",
    $n4 + $n6, $n4, $n6, $tree->node_count, $nrecords, $gid - 1_000_000;
close $if or die "$0: $out/info.txt: $!\n";
