#!/usr/bin/env bash
# Installs what vhsw needs to build and test (Debian 12 packages) when it is
# missing, then builds into build/.  Sourced or run by tests/run.sh and
# examples/demo.sh.  Idempotent: a second run only rebuilds what changed.
set -euo pipefail

VHSW_TOP=${VHSW_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VHSW_BUILD=${VHSW_BUILD:-$VHSW_TOP/build}

# Packages: build (meson, DPDK, libev, jansson, cmocka), the fuzz targets
# and the sanitizer build (clang with its libFuzzer and sanitizer runtimes,
# ThreadSanitizer's included; setarch from util-linux) and test peers
# (dpdk-testpmd, iproute2, ping); the Debian package's build and its test
# (debhelper, help2man, man-db, groff, col).
VHSW_PACKAGES=(
	build-essential meson ninja-build pkg-config
	dpdk dpdk-dev libdpdk-dev libev-dev libjansson-dev libcmocka-dev libmnl-dev
	libsystemd-dev # sd_notify, watchdog, journal (switch/daemon/service.c)
	libmicrohttpd-dev # vhswd --metrics-listen (switch/control/metrics.c)
	curl python3-prometheus-client # test_metrics: scrape and parse /metrics
	libpcap-dev # pcap_compile: capture filters (switch/control/capture_ctl.c)
	clang libclang-rt-14-dev util-linux
	iproute2 iputils-ping procps jq netcat-openbsd tcpdump python3
	containernetworking-plugins podman runc
	debhelper dpkg-dev help2man libsystemd-dev man-db groff-base bsdextrautils
)

# vhsw_apt_install WHO PKG...: install the packages that are missing (as
# root; WHO names the caller in messages).  Prints apt's output on failure.
vhsw_apt_install() {
	local who=$1 missing=() p out
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "$who: missing packages ${missing[*]}; run as root (sudo) to install them" >&2
		return 1
	fi
	echo "$who: installing ${missing[*]}" >&2
	if ! out=$(export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq 2>&1 &&
			apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
		printf '%s\n' "$out" >&2
		echo "$who: apt-get install ${missing[*]} failed" >&2
		return 1
	fi
}

vhsw_install_deps() {
	vhsw_apt_install setup "${VHSW_PACKAGES[@]}"
}

# promtool (test_metrics: `promtool check metrics`): Debian ships it only in
# the `prometheus` package, which also installs and starts a Prometheus
# server (96 MB).  The tests need the checker alone: it is taken out of
# the package's .deb (apt-get download, dpkg-deb) into a cache directory
# put on PATH, nothing installed.  Prints nothing; a failure only leaves
# test_metrics with prometheus_client's parser.
VHSW_TOOLS=${VHSW_TOOLS:-/var/cache/vhsw-test-tools}
vhsw_promtool() {
	local tmp deb
	command -v promtool > /dev/null && return 0
	if [ ! -x "$VHSW_TOOLS/promtool" ]; then
		tmp=$(mktemp -d) || return 0
		if (cd "$tmp" && apt-get download -qq prometheus > /dev/null 2>&1); then
			deb=$(ls "$tmp"/prometheus_*.deb 2> /dev/null | head -n 1)
			mkdir -p "$VHSW_TOOLS" &&
				dpkg-deb --fsys-tarfile "$deb" |
				tar -x -O ./usr/bin/promtool > "$VHSW_TOOLS/promtool.new" &&
				chmod 755 "$VHSW_TOOLS/promtool.new" &&
				mv "$VHSW_TOOLS/promtool.new" "$VHSW_TOOLS/promtool"
		fi
		rm -rf "$tmp" "$VHSW_TOOLS/promtool.new"
	fi
	[ -x "$VHSW_TOOLS/promtool" ] && export PATH=$VHSW_TOOLS:$PATH
	return 0
}

vhsw_build() {
	if [ ! -f "$VHSW_BUILD/build.ninja" ]; then
		meson setup "$VHSW_BUILD" "$VHSW_TOP" -Dwerror=true -Dtests=enabled >/dev/null
	fi
	ninja -C "$VHSW_BUILD" >/dev/null
}

# The libFuzzer targets (tests/fuzz, docs/fuzzing.md): clang, in a build
# dir of their own so the gcc build is untouched.
VHSW_FUZZ_BUILD=${VHSW_FUZZ_BUILD:-$VHSW_TOP/build-fuzz}
# Every tests/fuzz/fuzz_*.c is a target of the same name.
VHSW_FUZZ_TARGETS=()
for _f in "$VHSW_TOP"/tests/fuzz/fuzz_*.c; do
	[ -e "$_f" ] && VHSW_FUZZ_TARGETS+=("$(basename "$_f" .c)")
done
unset _f
vhsw_build_fuzz() {
	if [ ! -f "$VHSW_FUZZ_BUILD/build.ninja" ]; then
		CC=clang meson setup "$VHSW_FUZZ_BUILD" "$VHSW_TOP" -Dfuzz=enabled \
			-Dtests=disabled >/dev/null
	fi
	ninja -C "$VHSW_FUZZ_BUILD" "${VHSW_FUZZ_TARGETS[@]/#/tests/fuzz/}" >/dev/null
}

# The sanitizer build (docs/architecture.md, tests/run.sh sanitize): the
# unit tests built with clang, ThreadSanitizer and the debug checks of the
# thread and lock rules (-Dasserts=true, which also turns on DPDK's RCU
# debug mode), in a build dir of its own; build/ keeps them off.
VHSW_SAN_BUILD=${VHSW_SAN_BUILD:-$VHSW_TOP/build-tsan}
VHSW_SAN_TESTS=()
for _f in "$VHSW_TOP"/tests/unit/test_*.c; do
	[ -e "$_f" ] && VHSW_SAN_TESTS+=("$(basename "$_f" .c)")
done
unset _f
vhsw_build_sanitize() {
	if [ ! -f "$VHSW_SAN_BUILD/build.ninja" ]; then
		CC=clang meson setup "$VHSW_SAN_BUILD" "$VHSW_TOP" \
			-Dtests=enabled -Dasserts=true -Db_sanitize=thread \
			-Db_lundef=false >/dev/null
	fi
	ninja -C "$VHSW_SAN_BUILD" "${VHSW_SAN_TESTS[@]/#/tests/unit/}" >/dev/null
}

# vhsw_run_sanitized CMD...: runs CMD, a test of the sanitizer build (or a
# wrapper such as timeout that runs it).
# The first race TSan reports (less tests/unit/tsan.supp) ends it with an
# error, as a broken rule's abort does.  Address-space randomisation off:
# LLVM 14's TSan refuses the mappings of kernels with more random bits.
vhsw_run_sanitized() {
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$VHSW_TOP/tests/unit/tsan.supp" \
		setarch "$(uname -m)" -R "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	vhsw_install_deps
	vhsw_build
	echo "setup: built into $VHSW_BUILD"
fi
