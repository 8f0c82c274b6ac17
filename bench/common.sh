# Helpers of the bench scripts (sourced after tests/integration/lib.sh).

# verdict VALUE OP LIMIT: ok or MISS (OP is <= or >=).
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
	ok = (op == "<=") ? v <= l : v >= l; print ok ? "ok" : "MISS" }'; }
# fmt VALUE FORMAT: VALUE printed with an awk printf FORMAT.
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }
# mib KIB: a size in KiB as MiB.
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
