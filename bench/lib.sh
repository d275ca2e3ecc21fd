# Shared by the bench/ scripts: sourced after setting bench_name, the prefix of
# their error lines.

# die MESSAGE...: the error, on stderr, and exit 1.
die()
{
	echo "${bench_name:-bench}: error: $*" >&2
	exit 1
}

# median: the median of the numbers on stdin, n/a if none.
median()
{
	sort -g | awk '/^-?[0-9.]+$/ { a[++n] = $1 } END {
		if (!n) print "n/a"; else if (n % 2) print a[(n + 1) / 2];
		else printf "%.6f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'
}
