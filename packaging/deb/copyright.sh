#!/bin/sh
# Writes the package's machine-readable copyright file (DEP-5) on stdout:
# lvsd itself, the Go standard library and runtime, and every Go module
# compiled into /usr/sbin/lvsd, each with the licence its LICENSE file in
# the module cache holds. A licence this script cannot name fails the build,
# so nothing is shipped under a wrong name.
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}

# indent prints a licence text as a DEP-5 field continuation.
indent() {
    sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "$1"
}

# licence names the licence of a LICENSE file by its wording.
licence() {
    if grep -q 'Apache License' "$1" && grep -q 'Version 2.0' "$1"; then echo Apache-2.0
    elif grep -q 'Mozilla Public License' "$1"; then echo MPL-2.0
    elif grep -q 'Permission is hereby granted, free of charge' "$1"; then echo Expat
    elif grep -q 'Redistribution and use in source and binary forms' "$1"; then
        if grep -qi 'Neither the name' "$1" || grep -qi 'names of its contributors' "$1"; then echo BSD-3-clause; else echo BSD-2-clause; fi
    elif grep -q 'Permission to use, copy, modify, and/or distribute' "$1"; then echo ISC
    else echo unknown
    fi
}

# holder reads the copyright holders from a LICENSE file.
holder() {
    h=$(grep -i -m3 '^[[:space:]]*copyright[[:space:]]*\((c)\|[0-9©]\)' "$1" | sed -e 's/^[[:space:]]*[Cc]opyright[[:space:]]*\((c)\|(C)\|©\)\{0,1\}[[:space:]]*//' | paste -sd ';' - | sed 's/;/\n /g')
    if [ -n "$h" ]; then echo "$h"; else echo "the authors of $2 (see its LICENSE)"; fi
}

cat <<'HEAD'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lvsd
Upstream-Contact: the lvsd authors
Source: https://github.com/lvsd/lvsd

Files: *
Copyright: the lvsd authors
License: lvsd
 The lvsd authors have not yet published a licence for lvsd itself; until
 they do, this package may be used as built from its source repository.
 The Go modules compiled into /usr/sbin/lvsd are listed below with their
 own licences.
HEAD

goroot=$($GO env GOROOT)
printf '\nFiles: go/*\nCopyright: %s\nLicense: BSD-3-clause\nComment: the Go standard library and runtime (%s), compiled into /usr/sbin/lvsd\n' \
    "$(holder "$goroot/LICENSE" Go)" "$($GO env GOVERSION)"

common=""
$GO list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/lvsd | sort -u |
while read -r path version dir; do
    file=$(find "$dir" -maxdepth 1 -type f \( -iname 'licen[cs]e*' -o -iname 'copying*' \) | sort | head -n1)
    if [ -z "$file" ]; then
        echo "copyright.sh: no licence file in $dir" >&2
        exit 1
    fi
    name=$(licence "$file")
    if [ "$name" = unknown ]; then
        echo "copyright.sh: cannot name the licence of $path ($file)" >&2
        exit 1
    fi
    printf '\nFiles: %s/*\nCopyright: %s\n' "$path" "$(holder "$file" "$path")"
    case $name in
    Apache-2.0|MPL-2.0)
        # full texts in /usr/share/common-licenses; one stand-alone
        # paragraph below
        printf 'License: %s\n' "$name" ;;
    *)
        printf 'License: %s\n' "$name"
        indent "$file" ;;
    esac
    printf 'Comment: Go module %s %s, compiled into /usr/sbin/lvsd\n' "$path" "$version"
done

printf '\nLicense: BSD-3-clause\n'
indent "$goroot/LICENSE"
cat <<'TAIL'

License: Apache-2.0
 On Debian systems, the complete text of the Apache License, Version 2.0
 can be found in "/usr/share/common-licenses/Apache-2.0".

License: MPL-2.0
 On Debian systems, the complete text of the Mozilla Public License,
 Version 2.0 can be found in "/usr/share/common-licenses/MPL-2.0".
TAIL
