# failures.awk digests a failed `go test -v` log for `make integration`.
# Run it on the log twice: awk -f integration/failures.awk LOG LOG.
#
# The first pass collects the failed tests; the ones with no failed subtest
# are what went wrong (their parents failed because of them). The VM's
# scenarios are host subtests whose lines are relayed after the VM stops,
# and go test prints a subtest's "--- FAIL" with its parent's, far below
# what it logged: so the second pass keeps each failed test's own lines,
# from its "=== RUN" (or CONT/NAME) to the next test's.
#
# It prints, for each such test, the last 40 lines it logged; then, last,
# since a CI excerpt keeps only the end of the log, one short block per
# test: its name and the lines its test files logged (file_test.go:N:),
# narration ("▶") left out.

FNR == NR {
	if ($0 ~ /^ *--- FAIL: /) {
		name = $0
		sub(/^ *--- FAIL: /, "", name)
		sub(/ .*/, "", name)
		if (!(name in failed)) {
			failed[name] = 1
			order[++nfailed] = name
		}
	}
	next
}

FNR == 1 {
	for (n in failed) {
		p = n
		while (sub(/\/[^\/]*$/, "", p))
			parent[p] = 1
	}
}

/^=== (RUN|CONT|NAME|PAUSE) / {
	cur = $3
	next
}

/^ *--- (PASS|FAIL|SKIP): / {
	next
}

(cur in failed) && !(cur in parent) {
	line = substr($0, 1, 400)
	n = ++count[cur]
	tail[cur, n % 40] = line
	if (line ~ /_test\.go:[0-9]+: / && line !~ /▶/) {
		m = ++nerr[cur]
		err[cur, m % 12] = line
	}
}

END {
	for (i = 1; i <= nfailed; i++) {
		t = order[i]
		if (t in parent)
			continue
		print "== " t ": the last lines it logged"
		first = count[t] > 40 ? count[t] - 39 : 1
		for (k = first; k <= count[t]; k++)
			print tail[t, k % 40]
	}
	print "== failed (tests with no failed subtest) and what their test files logged:"
	for (i = 1; i <= nfailed; i++) {
		t = order[i]
		if (t in parent)
			continue
		print "FAIL " t
		first = nerr[t] > 12 ? nerr[t] - 11 : 1
		for (k = first; k <= nerr[t]; k++) {
			line = err[t, k % 12]
			sub(/^ +/, "", line)
			print "  " substr(line, 1, 300)
		}
	}
}
