#!/bin/sh
# Builds lvsd_VERSION_amd64.deb with dpkg-deb (make deb runs it):
#
#   /usr/sbin/lvsd                               static, stripped
#   /lib/systemd/system/lvsd.service             examples/lvsd.service for /usr/sbin
#   /etc/lvsd/lvsd.hcl, /etc/default/lvsd        conffiles
#   /usr/share/man/man8/lvsd.8.gz, man5/lvsd.hcl.5.gz   rendered from docs/ (as make man)
#   /usr/share/bash-completion/completions/lvsd
#   /usr/share/doc/lvsd/{copyright,changelog.gz,README.md,examples/}
#   /usr/share/lintian/overrides/lvsd            Go is static by design
#
# Usage: packaging/deb/build.sh [OUTDIR]   (VERSION, GO and MAINTAINER from the
# environment). The package enables and starts nothing; see postinst.
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
OUT=${1:-.}
MAINTAINER=${MAINTAINER:-lvsd developers <lvsd@users.noreply.github.com>}
ARCH=amd64

# A Debian version starts with a digit: a release tag v1.2.3 gives 1.2.3,
# anything else 0~gitDATE.HASH (sorting by commit time), +dirty when the
# tree has changes.
if [ -z "${VERSION:-}" ]; then
    VERSION=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//; s/-dirty$/+dirty/; s/-\([0-9]*\)-g/+\1.g/') || true
    if [ -z "$VERSION" ]; then
        VERSION="0~git$(git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S 2>/dev/null || date -u +%Y%m%d%H%M%S).$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
        if [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ]; then VERSION="$VERSION+dirty"; fi
    fi
fi
DATE=$(git log -1 --format=%cD 2>/dev/null || date -R)

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/root
install -d "$ROOT/DEBIAN" "$ROOT/usr/sbin" "$ROOT/lib/systemd/system" "$ROOT/etc/lvsd" "$ROOT/etc/default" \
    "$ROOT/usr/share/man/man8" "$ROOT/usr/share/man/man5" "$ROOT/usr/share/bash-completion/completions" \
    "$ROOT/usr/share/doc/lvsd/examples" "$ROOT/usr/share/lintian/overrides"

CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH $GO build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$VERSION" -o "$ROOT/usr/sbin/lvsd" ./cmd/lvsd
chmod 0755 "$ROOT/usr/sbin/lvsd"

sed 's#/usr/local/sbin/#/usr/sbin/#g' examples/lvsd.service > "$ROOT/lib/systemd/system/lvsd.service"
install -m 0644 examples/dr-pair.hcl "$ROOT/etc/lvsd/lvsd.hcl"
install -m 0644 packaging/deb/lvsd.default "$ROOT/etc/default/lvsd"
# The pages are rendered from docs/ here, so the package never ships a
# stale docs/man (the tests catch that in the tree).
$GO run ./internal/manpage/genman -docs docs -out "$STAGE/man"
gzip -9n < "$STAGE/man/lvsd.8" > "$ROOT/usr/share/man/man8/lvsd.8.gz"
gzip -9n < "$STAGE/man/lvsd.hcl.5" > "$ROOT/usr/share/man/man5/lvsd.hcl.5.gz"
install -m 0644 packaging/completion/lvsd.bash "$ROOT/usr/share/bash-completion/completions/lvsd"
install -m 0644 packaging/deb/lintian-overrides "$ROOT/usr/share/lintian/overrides/lvsd"
install -m 0644 README.md "$ROOT/usr/share/doc/lvsd/README.md"
for f in examples/*.hcl examples/*.hcl.json examples/lvsd.service; do
    install -m 0644 "$f" "$ROOT/usr/share/doc/lvsd/examples/"
done
if [ -d examples/monitoring ]; then
    install -d "$ROOT/usr/share/doc/lvsd/examples/monitoring"
    install -m 0644 examples/monitoring/* "$ROOT/usr/share/doc/lvsd/examples/monitoring/"
fi
packaging/deb/copyright.sh > "$ROOT/usr/share/doc/lvsd/copyright"
{
    printf 'lvsd (%s) unstable; urgency=medium\n\n' "$VERSION"
    printf '  * Built from commit %s with make deb.\n\n' "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
    printf ' -- %s  %s\n' "$MAINTAINER" "$DATE"
} | gzip -9n > "$ROOT/usr/share/doc/lvsd/changelog.gz"
chmod 0644 "$ROOT/usr/share/doc/lvsd/copyright"

install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$ROOT/DEBIAN/"
printf '/etc/default/lvsd\n/etc/lvsd/lvsd.hcl\n' > "$ROOT/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: lvsd
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE
Depends: init-system-helpers (>= 1.52)
Suggests: ipvsadm
Section: net
Priority: optional
Homepage: https://github.com/lvsd/lvsd
Description: LVS director: VRRPv2, IPVS and health checks in one daemon
 lvsd runs a Linux Virtual Server director: a VRRPv2 speaker (RFC 3768)
 that moves virtual IPs between two directors and announces them with
 gratuitous ARP, and an IPVS programmer that keeps the kernel's table equal
 to the configuration minus the real servers failing their health checks
 (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK).
 .
 It replaces keepalived for that job: the same protocol on the wire, the
 same configuration vocabulary (it reads keepalived.conf as it is, or HCL),
 SIGHUP reload, notify scripts, Prometheus metrics and a status page. The
 service is installed disabled; see lvsd(8).
CONTROL
( cd "$ROOT" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums )
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"
find "$ROOT" -type d -exec chmod 0755 {} +

mkdir -p "$OUT"
DEB="$OUT/lvsd_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
