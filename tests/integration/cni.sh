# shellcheck shell=bash
# Helpers for the tests that run vhsw-cni as a container runtime does
# (environment and stdin).  Source after lib.sh and vhsw.sh, then call
# cni_test_init TAG: two network namespaces $NSA and $NSB (created, and
# deleted at exit), $TEST_TMP, CNI_PATH (Debian's plugins, for host-local
# IPAM) and $IPAM_DIR.

CNI=$VHSW_BUILD/vhsw-cni
export CNI_PATH=/usr/lib/cni

_cni_net_cleanup() {
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    return 0
}

# cni_test_init TAG: the namespaces and the traps of a CNI test.
cni_test_init() {
    NSA=vhsw$$-${1:0:4}a NSB=vhsw$$-${1:0:4}b
    vhsw_test_init "$1" _cni_net_cleanup
    IPAM_DIR=$TEST_TMP/ipam
    ip netns add "$NSA"
    ip netns add "$NSB"
}

# cni COMMAND CONTAINERID NETNS IFNAME < conf: run the plugin; output in
# $TEST_TMP/cni.out (stderr in cni.err), exit status printed.
cni() {
    local r=0
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=$4 \
        "$CNI" > "$TEST_TMP/cni.out" 2> "$TEST_TMP/cni.err" || r=$?
    echo $r
}

# out JQ_FILTER: a field of the plugin's last output.
out() { jq -r "$1" "$TEST_TMP/cni.out"; }
