#!/usr/bin/env bash
# Runs every vhsw test: installs what is missing (Debian packages), builds
# with warnings as errors, runs the cmocka unit tests and the integration
# tests (real dpdk-testpmd clients, network namespaces, podman) and the
# QEMU guest tests (Linux virtio-net guests) against a real vhswd.  Needs root.
#
#   tests/run.sh                 everything
#   tests/run.sh unit            unit tests only
#   tests/run.sh test_switch     integration tests whose name matches
#   tests/run.sh fuzz            the libFuzzer targets only (30 s each)
#   tests/run.sh sanitize        the unit tests under ThreadSanitizer with
#                                the thread and lock rules asserted
#
# Ends with "N passed, M failed"; exit status 0 only if nothing failed.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
. tests/setup.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: run as root (the tests use DPDK, network namespaces and /run)" >&2
	exit 2
fi
vhsw_install_deps
vhsw_promtool
vhsw_build

filter=${1:-}
OUT=$TOP/tests/out
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0 failed=0 failures=()

run_one() { # NAME CMD...: run, record, show the log on failure
	local name=$1 t0 rc=0
	shift
	t0=$SECONDS
	"$@" > "$OUT/$name.log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAIL $name ($((SECONDS - t0)) s, exit $rc); last lines of $OUT/$name.log:"
		tail -n 60 "$OUT/$name.log" | sed 's/^/    /'
	fi
}

# Unit tests: one cmocka binary per module.
if [ -z "$filter" ] || [ "$filter" = unit ]; then
	for t in "$VHSW_BUILD"/tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		mkdir -p "$OUT/unit"; run_one "unit/$(basename "$t")" timeout 300 "$t"
	done
fi

# Fuzz targets: built with clang in build-fuzz, each run for a bounded time
# from the seed corpus in tests/fuzz/corpus/NAME (new inputs go to a scratch
# corpus, crashes to tests/out/fuzz/); any crash fails the step.
if [ -z "$filter" ] || [ "$filter" = fuzz ]; then
	mkdir -p "$OUT/fuzz"
	run_one fuzz/build vhsw_build_fuzz
	for f in "${VHSW_FUZZ_TARGETS[@]}"; do
		[ -x "$VHSW_FUZZ_BUILD/tests/fuzz/$f" ] || continue
		rm -rf "$OUT/fuzz/corpus-$f"
		mkdir -p "$OUT/fuzz/corpus-$f"
		run_one "fuzz/$f" timeout 300 "$VHSW_FUZZ_BUILD/tests/fuzz/$f" \
			-max_total_time="${VHSW_FUZZ_SECONDS:-30}" -max_len=8192 \
			-artifact_prefix="$OUT/fuzz/$f-" \
			"$OUT/fuzz/corpus-$f" "tests/fuzz/corpus/$f"
	done
fi

# Sanitizer build: every unit test again, built with clang, ThreadSanitizer
# and -Dasserts=true in build-tsan (docs/architecture.md).  A data race
# (beyond tests/unit/tsan.supp) or a broken thread or lock rule fails it.
# test_stress runs longer here (VHSW_STRESS_SECONDS, 20 s unless set).
if [ -z "$filter" ] || [ "$filter" = sanitize ]; then
	mkdir -p "$OUT/sanitize"
	run_one sanitize/build vhsw_build_sanitize
	for t in "${VHSW_SAN_TESTS[@]}"; do
		[ -x "$VHSW_SAN_BUILD/tests/unit/$t" ] || continue
		run_one "sanitize/$t" vhsw_run_sanitized \
			env VHSW_STRESS_SECONDS="${VHSW_STRESS_SECONDS:-20}" \
			timeout 300 "$VHSW_SAN_BUILD/tests/unit/$t"
	done
fi

# Integration tests, then QEMU guest tests.
if [ "$filter" != unit ] && [ "$filter" != fuzz ] &&
	[ "$filter" != sanitize ]; then
	for t in tests/integration/test_*.sh tests/guest/test_*.sh; do
		name=$(basename "$t" .sh)
		if [ -n "$filter" ] && [[ $name != *$filter* ]]; then continue; fi
		dir=$(basename "$(dirname "$t")")
		mkdir -p "$OUT/$dir"
		run_one "$dir/$name" timeout 900 bash "$t"
	done
fi

# Benchmark smoke: one short round, baseline vs vhswd (no targets asserted;
# the full benchmark is tests/bench/run.sh).
if [ -z "$filter" ] || [ "$filter" = bench ]; then
	mkdir -p "$OUT/bench"
	run_one bench/quick timeout 600 bash tests/bench/run.sh --quick
fi

echo
[ $failed -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
