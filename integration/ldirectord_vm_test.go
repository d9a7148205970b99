package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ldirectordPath is where Debian's ldirectord package installs the daemon;
// the guest has it at the same path.
const ldirectordPath = "/usr/sbin/ldirectord"

// ldirectordModules prints the Perl files ldirectord needs in the guest:
// the modules it loads when compiled (the list IncDump wrote), those its
// connect and http checks load when they run, and the XS libraries of
// all of them, one path a line ("pm PATH" or "so PATH").
const ldirectordModules = `
use LWP::UserAgent; use HTTP::Request; use HTTP::Headers; use IO::Socket::INET6; use Net::Ping; use IO::Socket::INET;
# A page as the real servers serve it: LWP parses an HTML answer's head.
my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1, ReuseAddr => 1) or die "listen: $!";
my $port = $srv->sockport;
if (my $pid = fork) {
	my $ua = LWP::UserAgent->new(ssl_opts => { verify_hostname => 0 });
	my $res = $ua->request(HTTP::Request->new("GET", "http://127.0.0.1:$port/", HTTP::Headers->new("Host" => "x")));
	$res->is_success; $res->content =~ /Test Page/; $res->status_line;
	waitpid($pid, 0);
} else {
	my $c = $srv->accept; my $req = ""; while (<$c>) { last if /^\r?$/ }
	print $c "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><title>t</title></head><body>Test Page</body></html>\n";
	close $c; exit 0;
}
IO::Socket::INET6->new(PeerAddr => "127.0.0.1", PeerPort => 9, Proto => "tcp", Timeout => 1);
require Net::INET6Glue::INET_is_INET6; # check_http of an IPv6 real server
my %pm = map { $_ => 1 } values %INC;
open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!";
while (<$f>) { chomp; $pm{$_} = 1 }
my @inc = grep { -d } @INC;
my %so;
for my $p (keys %pm) {
	for my $d (@inc) {
		next unless index($p, "$d/") == 0;
		(my $rel = substr($p, length($d) + 1)) =~ s/\.pm$//;
		my ($base) = $rel =~ m{([^/]+)$};
		for my $d2 (@inc) { my $s = "$d2/auto/$rel/$base.so"; $so{$s} = 1 if -f $s }
	}
}
print "pm $_\n" for sort grep { m{^/} } keys %pm;
print "so $_\n" for sort keys %so;
`

// ldirectordIncDump writes the modules a program loaded when compiled
// (perl -c runs CHECK blocks, not the program).
const ldirectordIncDump = `package IncDump;
CHECK { open(my $f, ">", $ENV{INCDUMP_OUT}) or die; print $f "$_\n" for values %INC; close $f }
1;
`

// ldirectordGuest returns what the guest needs to run ldirectord (the
// reference of TestLvsdRunsTheLVSMaterialsLdirectordCf): perl and the XS
// libraries with their shared libraries (programs), ldirectord and its
// Perl modules (files, guest path → host path). Without the ldirectord
// package on the host it returns nothing and the scenario compares with
// ldirectord's semantics alone.
func ldirectordGuest(t *testing.T) (programs []string, files map[string]string) {
	t.Helper()
	if _, err := os.Stat(ldirectordPath); err != nil {
		t.Logf("no %s on the host (apt-get install ldirectord): the ldirectord scenario runs without ldirectord as its reference", ldirectordPath)
		return nil, nil
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "IncDump.pm"), []byte(ldirectordIncDump), 0o644); err != nil {
		t.Fatal(err)
	}
	compiled := filepath.Join(dir, "compiled")
	check := exec.Command("perl", "-I"+dir, "-MIncDump", "-c", ldirectordPath)
	check.Env = append(os.Environ(), "INCDUMP_OUT="+compiled)
	if out, err := check.CombinedOutput(); err != nil {
		t.Logf("perl -c %s: %v: %s; the ldirectord scenario runs without ldirectord", ldirectordPath, err, out)
		return nil, nil
	}
	out, err := exec.Command("perl", "-e", ldirectordModules, compiled).Output()
	if err != nil {
		t.Logf("listing ldirectord's Perl modules: %v; the ldirectord scenario runs without ldirectord", err)
		return nil, nil
	}
	files = map[string]string{ldirectordPath: ldirectordPath}
	programs = []string{"/usr/bin/perl"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		kind, path, _ := strings.Cut(line, " ")
		switch kind {
		case "pm":
			files[path] = path
		case "so":
			programs = append(programs, path)
		}
	}
	return programs, files
}
