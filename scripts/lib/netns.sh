# shellcheck shell=bash
# Helpers for building a small Kubernetes-node-like topology out of network
# namespaces, running dnsmasq and tcpdump inside it, and tearing it all down.
#
# Source this file from a bash script that runs `set -euo pipefail`, then call
# `netns_cleanup_on_exit` once. Everything created through these helpers is
# registered for cleanup and removed, in reverse order, when the script exits,
# whether it succeeds, fails or is interrupted.
#
# Topology built by k8s_node_create (names are prefixed, e.g. dt1234-node):
#
#   PREFIX-pod-a  eth0 10.244.1.10/24 ─┐
#                                      ├─ br0 10.244.1.1/24 (pod gateway)
#   PREFIX-pod-b  eth0 10.244.1.11/24 ─┘       PREFIX-node
#                                             veth-coredns 10.244.0.1/24
#                                                  │ routed, not on br0
#   PREFIX-coredns eth0 10.244.0.53/24 ────────────┘
#
# kube-proxy's Service DNAT (10.96.0.10:53 -> 10.244.0.53:53) lives in the node
# namespace, so pods address the ClusterIP and never see the CoreDNS pod IP.

# Addresses used throughout (readonly so a typo in a caller fails loudly).
readonly K8S_CLUSTER_DNS_IP=10.96.0.10
readonly K8S_COREDNS_POD_IP=10.244.0.53
readonly K8S_COREDNS_GATEWAY_IP=10.244.0.1
readonly K8S_POD_GATEWAY_IP=10.244.1.1
readonly K8S_POD_A_IP=10.244.1.10
readonly K8S_POD_B_IP=10.244.1.11
# IPv6 (k8s_node_add_ipv6): the same layout in fd00:10::/32, as a dual-stack
# cluster with --service-cluster-ip-range=fd00:10:96::/112 would number it.
readonly K8S_CLUSTER_DNS_IP6=fd00:10:96::a
readonly K8S_COREDNS_POD_IP6=fd00:10:244::53
readonly K8S_COREDNS_GATEWAY_IP6=fd00:10:244::1
readonly K8S_POD_GATEWAY_IP6=fd00:10:244:1::1
readonly K8S_POD_A_IP6=fd00:10:244:1::10
readonly K8S_POD_B_IP6=fd00:10:244:1::11

# ---------------------------------------------------------------------------
# Logging

log() { printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Dependencies: install missing commands from Debian packages, the same way on
# a developer VM and on a fresh CI machine.

declare -gA NETNS_PACKAGE_FOR_COMMAND=(
    [ip]=iproute2 [bridge]=iproute2 [nft]=nftables [dnsmasq]=dnsmasq
    [dig]=bind9-dnsutils [tcpdump]=tcpdump [tshark]=tshark [capinfos]=tshark
    [jq]=jq [getent]=libc-bin [timeout]=coreutils [ss]=iproute2
    [tc]=iproute2 [kdig]=knot-dnsutils [ethtool]=ethtool [editcap]=tshark
    [unbound]=unbound [unbound-checkconf]=unbound [taskset]=util-linux
    [dnsperf]=dnsperf [dnsdist]=dnsdist
)

# ensure_commands CMD... : install the packages providing any missing CMD.
ensure_commands() {
    local command missing=()
    for command in "$@"; do
        command -v "$command" >/dev/null 2>&1 && continue
        missing+=("${NETNS_PACKAGE_FOR_COMMAND[$command]:?no package known for command $command}")
    done
    ((${#missing[@]} == 0)) && return 0
    install_packages "${missing[@]}"
    for command in "$@"; do
        command -v "$command" >/dev/null 2>&1 || die "command $command still missing after install"
    done
}

# install_packages PACKAGE...: apt-get install, without prompts.
install_packages() {
    log "installing missing packages: $*"
    # tshark's package would otherwise stop and ask whether to install dumpcap setuid.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # A fresh machine may have empty package lists; try without updating first.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
    fi
}

require_root() { [[ $(id -u) == 0 ]] || die "must run as root (network namespaces, nftables, packet capture)"; }

# ---------------------------------------------------------------------------
# Cleanup: a stack of "kind value" records undone in reverse order at exit.

NETNS_CLEANUP=()

netns_cleanup_add() { NETNS_CLEANUP+=("$1 $2"); }

# netns_cleanup_forget KIND VALUE: drop a record once it has been undone early
# (a reaped pid must not be signalled again at exit: it may belong to someone else by then).
netns_cleanup_forget() {
    local i
    for i in "${!NETNS_CLEANUP[@]}"; do
        [[ ${NETNS_CLEANUP[i]} == "$1 $2" ]] && unset 'NETNS_CLEANUP[i]'
    done
    NETNS_CLEANUP=("${NETNS_CLEANUP[@]}")
}

netns_cleanup_run() {
    local i kind value
    for ((i = ${#NETNS_CLEANUP[@]} - 1; i >= 0; i--)); do
        kind=${NETNS_CLEANUP[i]%% *}
        value=${NETNS_CLEANUP[i]#* }
        case $kind in
            pid) stop_process "$value" TERM || true ;;
            netns) netns_delete "$value" || true ;;
            path) rm -rf -- "$value" || true ;;
        esac
    done
    NETNS_CLEANUP=()
}

# netns_cleanup_on_exit: start an empty cleanup stack and run it on exit, also
# after Ctrl-C or kill. Call it again first thing in a subshell that should
# clean up after itself: the subshell inherits a copy of its parent's records,
# which it must not undo.
netns_cleanup_on_exit() {
    NETNS_CLEANUP=()
    trap netns_cleanup_run EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# process_alive PID: true while PID runs (a zombie waiting to be reaped counts as gone).
process_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# stop_process PID [SIGNAL]: signal PID, give it up to 3 s, then SIGKILL; reap it.
stop_process() {
    local pid=$1 signal=${2:-TERM} tries
    if process_alive "$pid"; then
        kill -s "$signal" "$pid" 2>/dev/null || true
        for ((tries = 0; tries < 30; tries++)); do
            process_alive "$pid" || break
            sleep 0.1
        done
        if process_alive "$pid"; then
            log "pid $pid ignored SIG$signal, sending SIGKILL"
            kill -s KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Namespaces and links

# netns_create NAME: new namespace with loopback up, deleted at exit.
netns_create() {
    ip netns add "$1"
    netns_cleanup_add netns "$1"
    ip -n "$1" link set lo up
}

# netns_delete NAME: stop anything still running inside (for example a dig left
# behind by a failed step; they can only be ours, the name is unique to this
# run), then delete the namespace and its /etc/netns/NAME files.
netns_delete() {
    local pid
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        stop_process "$pid" TERM
    done
    ip netns delete "$1" 2>/dev/null || true
    rm -rf -- "/etc/netns/$1"
}

# veth_create NS1 IF1 NS2 IF2: a veth pair created directly inside the two
# namespaces, so nothing ever appears (or collides) in the root namespace.
veth_create() {
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
}

# set_resolv_conf NS CONTENT: the resolv.conf `ip netns exec NS` bind-mounts.
set_resolv_conf() {
    mkdir -p "/etc/netns/$1"
    printf '%s\n' "$2" >"/etc/netns/$1/resolv.conf"
}

# k8s_node_create PREFIX [BR_NETFILTER]: build the topology drawn at the top
# of this file. Sets NODE_NS, POD_A_NS, POD_B_NS, COREDNS_NS.
#
# BR_NETFILTER (0 or 1, default 0) is the node's net.bridge.bridge-nf-call-iptables.
# With 1 (what kubeadm requires on real nodes), packets entering br0 from a pod
# port go through the nat prerouting hook at bridge level, *before* tcpdump on
# br0 sees them: queries then appear on br0 already DNATed to the CoreDNS pod
# IP while replies still come from the ClusterIP. With 0 the DNAT happens in
# the IP layer after tcpdump, so queries and replies both show the ClusterIP.
k8s_node_create() {
    local prefix=$1 br_netfilter=${2:-0}
    NODE_NS=$prefix-node
    POD_A_NS=$prefix-pod-a
    POD_B_NS=$prefix-pod-b
    COREDNS_NS=$prefix-coredns
    local ns
    for ns in "$NODE_NS" "$POD_A_NS" "$POD_B_NS" "$COREDNS_NS"; do netns_create "$ns"; done

    # Fixed MAC addresses: the Ethernet headers in recorded captures then only
    # change when the topology does.
    bridge_create "$NODE_NS" br0 02:42:0a:f4:01:01 "$K8S_POD_GATEWAY_IP/24"
    _k8s_pod_attach "$POD_A_NS" veth-pod-a "$K8S_POD_A_IP" 02:42:0a:f4:01:0a
    _k8s_pod_attach "$POD_B_NS" veth-pod-b "$K8S_POD_B_IP" 02:42:0a:f4:01:0b

    # CoreDNS sits behind a routed veth, as on a node whose CoreDNS pod is
    # reached through the host's routing table rather than the pod bridge.
    veth_create "$NODE_NS" veth-coredns "$COREDNS_NS" eth0
    ip -n "$NODE_NS" link set veth-coredns address 02:42:0a:f4:00:01
    ip -n "$COREDNS_NS" link set eth0 address 02:42:0a:f4:00:35
    ip -n "$NODE_NS" addr add "$K8S_COREDNS_GATEWAY_IP/24" dev veth-coredns
    ip -n "$NODE_NS" link set veth-coredns up
    ip -n "$COREDNS_NS" addr add "$K8S_COREDNS_POD_IP/24" dev eth0
    ip -n "$COREDNS_NS" link set eth0 up
    ip -n "$COREDNS_NS" route add default via "$K8S_COREDNS_GATEWAY_IP"

    # A fresh namespace does not forward; the node must route pod <-> CoreDNS.
    ip netns exec "$NODE_NS" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$NODE_NS" sysctl -qw net.bridge.bridge-nf-call-iptables="$br_netfilter"
}

# _k8s_pod_attach NS HOST_IF IP MAC: pod eth0 on a veth whose host end joins br0.
_k8s_pod_attach() {
    pod_attach "$NODE_NS" br0 "$1" "$2" "$3/24" "$4" "$K8S_POD_GATEWAY_IP"
}

# pod_attach NODE_NS BRIDGE POD_NS HOST_IF IP/LEN MAC GATEWAY [NAMESERVER]: pod
# eth0 (MAC, IP/LEN, default via GATEWAY) on a veth whose host end HOST_IF
# joins BRIDGE in NODE_NS; resolv.conf as the kubelet writes it for a pod in
# namespace "default" (ClusterFirst) with NAMESERVER (default the ClusterIP).
pod_attach() {
    local node_ns=$1 bridge=$2 ns=$3 host_if=$4 ip_prefix=$5 mac=$6 gateway=$7
    local nameserver=${8:-$K8S_CLUSTER_DNS_IP}
    veth_create "$node_ns" "$host_if" "$ns" eth0
    ip -n "$node_ns" link set "$host_if" master "$bridge" up
    ip -n "$ns" link set eth0 address "$mac"
    ip -n "$ns" addr add "$ip_prefix" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$gateway"
    set_resolv_conf "$ns" "search default.svc.cluster.local svc.cluster.local cluster.local
nameserver $nameserver
options ndots:5"
}

# bridge_create NS BRIDGE MAC IP/LEN: a pod bridge (the node's br0 or cni0)
# holding the pods' gateway address.
bridge_create() {
    ip -n "$1" link add "$2" address "$3" type bridge
    ip -n "$1" addr add "$4" dev "$2"
    ip -n "$1" link set "$2" up
}

# ipv6_wait_ready NS...: wait until no address in NS is still "tentative"
# (duplicate address detection of the link-local addresses every interface
# got when it came up, about 1-2 s). Until then the kernel cannot resolve
# neighbours from them, and the first IPv6 query was answered 2 s late.
ipv6_wait_ready() {
    local ns tries
    for ns in "$@"; do
        for ((tries = 0; tries < 50; tries++)); do
            [[ -z $(ip -n "$ns" -6 addr show tentative) ]] && continue 2
            sleep 0.1
        done
        die "IPv6 addresses in $ns still tentative after 5 s: $(ip -n "$ns" -6 addr show tentative)"
    done
}

# k8s_node_add_ipv6: make the k8s_node_create topology dual-stack, in
# parallel to its IPv4 plan (pods fd00:10:244:1::10 and ::11 behind br0
# fd00:10:244:1::1, CoreDNS fd00:10:244::53 behind veth-coredns
# fd00:10:244::1), with IPv6 forwarding on the node and
# bridge-nf-call-ip6tables as bridge-nf-call-iptables (a fresh namespace has
# 1: IPv6 would then be DNATed before tcpdump on br0 sees it).
k8s_node_add_ipv6() {
    ip netns exec "$NODE_NS" sysctl -qw net.bridge.bridge-nf-call-ip6tables="$(
        ip netns exec "$NODE_NS" sysctl -n net.bridge.bridge-nf-call-iptables)"
    # nodad: global addresses usable at once.
    ip -n "$NODE_NS" addr add "$K8S_POD_GATEWAY_IP6/64" dev br0 nodad
    ip -n "$NODE_NS" addr add "$K8S_COREDNS_GATEWAY_IP6/64" dev veth-coredns nodad
    ip -n "$POD_A_NS" addr add "$K8S_POD_A_IP6/64" dev eth0 nodad
    ip -n "$POD_A_NS" route add default via "$K8S_POD_GATEWAY_IP6"
    ip -n "$POD_B_NS" addr add "$K8S_POD_B_IP6/64" dev eth0 nodad
    ip -n "$POD_B_NS" route add default via "$K8S_POD_GATEWAY_IP6"
    ip -n "$COREDNS_NS" addr add "$K8S_COREDNS_POD_IP6/64" dev eth0 nodad
    ip -n "$COREDNS_NS" route add default via "$K8S_COREDNS_GATEWAY_IP6"
    ip netns exec "$NODE_NS" sysctl -qw net.ipv6.conf.all.forwarding=1
    ipv6_wait_ready "$NODE_NS" "$POD_A_NS" "$POD_B_NS" "$COREDNS_NS"
}

# nic_offloads_off NS IF: no TCP segmentation offload (TSO/GSO) on IF, so a
# large TCP answer leaves as MSS-sized segments, as from a real NIC, instead
# of one up-to-64 KB "super-segment", which is what tcpdump on a veth would
# otherwise record.
nic_offloads_off() {
    ip netns exec "$1" ethtool -K "$2" tso off gso off
}

# ---------------------------------------------------------------------------
# Two more layouts: a VLAN trunk (AWS security groups for pods) and two nodes
# joined by VXLAN (Flannel, Calico). Both reuse the pod addresses above.

readonly TRUNK_NODE_IP=192.168.60.1
readonly TRUNK_VPC_IP=192.168.60.2

# vlan_trunk_create PREFIX BPF_OBJECT: the node of pods with a security group
# on AWS (VPC CNI, POD_SECURITY_GROUP_ENFORCING_MODE): each such pod has its
# own branch ENI, which reaches the node as a VLAN on the trunk ENI, and the
# VPC enforces the branch ENI's security group. Sets NODE_NS, POD_A_NS,
# POD_B_NS, VPC_NS, COREDNS_NS.
#
#   PREFIX-pod-a eth0 10.244.1.10 ─┐ br0 10.244.1.1       eth1 192.168.60.1 (trunk)
#   PREFIX-pod-b eth0 10.244.1.11 ─┘   PREFIX-node  ══ VLAN 101 / 102 ══╗
#                                                                       ║
#   PREFIX-coredns eth0 10.244.0.53 ── veth-coredns 10.244.0.1   eth1 192.168.60.2
#                                              PREFIX-vpc (the VPC and CoreDNS's node)
#
# The kernel has no 8021q module, so no VLAN devices: the BPF_OBJECT built by
# vlan_trunk_bpf_build tags frames on both eth1 (pod-a's traffic VLAN 101,
# pod-b's 102) and untags them on receipt, keeping the VLAN id in the packet
# mark for nftables in PREFIX-vpc ("meta mark 102" = arrived on VLAN 102).
vlan_trunk_create() {
    local prefix=$1 object=$2 ns
    NODE_NS=$prefix-node
    POD_A_NS=$prefix-pod-a
    POD_B_NS=$prefix-pod-b
    VPC_NS=$prefix-vpc
    COREDNS_NS=$prefix-coredns
    for ns in "$NODE_NS" "$POD_A_NS" "$POD_B_NS" "$VPC_NS" "$COREDNS_NS"; do netns_create "$ns"; done

    bridge_create "$NODE_NS" br0 02:42:0a:f4:01:01 "$K8S_POD_GATEWAY_IP/24"
    _k8s_pod_attach "$POD_A_NS" veth-pod-a "$K8S_POD_A_IP" 02:42:0a:f4:01:0a
    _k8s_pod_attach "$POD_B_NS" veth-pod-b "$K8S_POD_B_IP" 02:42:0a:f4:01:0b

    veth_create "$NODE_NS" eth1 "$VPC_NS" eth1
    ip -n "$NODE_NS" link set eth1 address 02:42:c0:a8:3c:01
    ip -n "$VPC_NS" link set eth1 address 02:42:c0:a8:3c:02
    ip -n "$NODE_NS" addr add "$TRUNK_NODE_IP/24" dev eth1
    ip -n "$VPC_NS" addr add "$TRUNK_VPC_IP/24" dev eth1
    ip -n "$NODE_NS" link set eth1 up
    ip -n "$VPC_NS" link set eth1 up
    ip -n "$NODE_NS" route add 10.244.0.0/24 via "$TRUNK_VPC_IP" dev eth1
    ip -n "$VPC_NS" route add 10.244.1.0/24 via "$TRUNK_NODE_IP" dev eth1

    veth_create "$VPC_NS" veth-coredns "$COREDNS_NS" eth0
    ip -n "$VPC_NS" link set veth-coredns address 02:42:0a:f4:00:01
    ip -n "$COREDNS_NS" link set eth0 address 02:42:0a:f4:00:35
    ip -n "$VPC_NS" addr add "$K8S_COREDNS_GATEWAY_IP/24" dev veth-coredns
    ip -n "$VPC_NS" link set veth-coredns up
    ip -n "$COREDNS_NS" addr add "$K8S_COREDNS_POD_IP/24" dev eth0
    ip -n "$COREDNS_NS" link set eth0 up
    ip -n "$COREDNS_NS" route add default via "$K8S_COREDNS_GATEWAY_IP"

    ip netns exec "$NODE_NS" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$NODE_NS" sysctl -qw net.bridge.bridge-nf-call-iptables=0
    ip netns exec "$VPC_NS" sysctl -qw net.ipv4.ip_forward=1
    vlan_trunk_attach "$NODE_NS" eth1 "$object"
    vlan_trunk_attach "$VPC_NS" eth1 "$object"
}

# vlan_trunk_bpf_build OUTPUT POD_A_IP VLAN_A POD_B_IP VLAN_B: compile
# scripts/bpf/vlan-trunk.c for tc with clang -target bpf (the clang of the
# Swift toolchain, or $CLANG), the pod addresses and VLAN ids built in.
vlan_trunk_bpf_build() {
    local output=$1 source clang=${CLANG:-}
    source=$(dirname "${BASH_SOURCE[0]}")/../bpf/vlan-trunk.c
    if [[ -z $clang ]]; then
        for clang in /opt/swift/usr/bin/clang "$(command -v clang 2>/dev/null || true)" ''; do
            [[ -n $clang && -x $clang ]] && break
        done
        [[ -n $clang ]] || die "no clang for -target bpf (set CLANG=...)"
    fi
    # linux/bpf.h and asm/types.h: linux-libc-dev, nothing from libbpf.
    [[ -f /usr/include/linux/bpf.h ]] || install_packages linux-libc-dev
    "$clang" -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(uname -m)-linux-gnu" \
        "-DPOD_A=IPV4(${2//./,})" "-DVLAN_A=$3" "-DPOD_B=IPV4(${4//./,})" "-DVLAN_B=$5" \
        -c "$source" -o "$output"
}

# vlan_trunk_attach NS IF BPF_OBJECT: tag on egress, untag on ingress.
vlan_trunk_attach() {
    ip netns exec "$1" tc qdisc add dev "$2" clsact
    ip netns exec "$1" tc filter add dev "$2" egress bpf direct-action obj "$3" sec tc/push
    ip netns exec "$1" tc filter add dev "$2" ingress bpf direct-action obj "$3" sec tc/pop
}

readonly UNDERLAY_NODE_A_IP=192.168.50.1
readonly UNDERLAY_NODE_B_IP=192.168.50.2

# vxlan_nodes_create PREFIX DEVICE VNI PORT: two nodes on one underlay link,
# with pod subnets routed over VXLAN as Flannel's vxlan backend sets them up
# (device DEVICE, e.g. flannel.1 VNI 1 port 8472; or vxlan0 VNI 1 port 4789,
# the IANA port Calico and Cilium use). Sets NODE_A_NS, NODE_B_NS (and
# NODE_NS=NODE_B_NS, where kube-proxy runs for the client pods), POD_A_NS,
# POD_B_NS, COREDNS_NS.
#
#   PREFIX-node-a: eth0 192.168.50.1 ═ underlay ═ eth0 192.168.50.2 :PREFIX-node-b
#     DEVICE 10.244.0.0/32 ┄┄┄┄┄┄┄┄ VXLAN VNI ┄┄┄┄┄┄┄┄ DEVICE 10.244.1.0/32
#     br0 10.244.0.1/24                                br0 10.244.1.1/24
#       └ PREFIX-coredns 10.244.0.53                     ├ PREFIX-pod-a 10.244.1.10
#                                                        └ PREFIX-pod-b 10.244.1.11
vxlan_nodes_create() {
    local prefix=$1 device=$2 vni=$3 port=$4 ns
    NODE_A_NS=$prefix-node-a
    NODE_B_NS=$prefix-node-b
    NODE_NS=$NODE_B_NS
    POD_A_NS=$prefix-pod-a
    POD_B_NS=$prefix-pod-b
    COREDNS_NS=$prefix-coredns
    for ns in "$NODE_A_NS" "$NODE_B_NS" "$POD_A_NS" "$POD_B_NS" "$COREDNS_NS"; do netns_create "$ns"; done

    veth_create "$NODE_A_NS" eth0 "$NODE_B_NS" eth0
    ip -n "$NODE_A_NS" link set eth0 address 02:42:c0:a8:32:01
    ip -n "$NODE_B_NS" link set eth0 address 02:42:c0:a8:32:02
    ip -n "$NODE_A_NS" addr add "$UNDERLAY_NODE_A_IP/24" dev eth0
    ip -n "$NODE_B_NS" addr add "$UNDERLAY_NODE_B_IP/24" dev eth0
    ip -n "$NODE_A_NS" link set eth0 up
    ip -n "$NODE_B_NS" link set eth0 up

    bridge_create "$NODE_A_NS" br0 02:42:0a:f4:00:01 "$K8S_COREDNS_GATEWAY_IP/24"
    pod_attach "$NODE_A_NS" br0 "$COREDNS_NS" veth-coredns "$K8S_COREDNS_POD_IP/24" 02:42:0a:f4:00:35 "$K8S_COREDNS_GATEWAY_IP"
    bridge_create "$NODE_B_NS" br0 02:42:0a:f4:01:01 "$K8S_POD_GATEWAY_IP/24"
    _k8s_pod_attach "$POD_A_NS" veth-pod-a "$K8S_POD_A_IP" 02:42:0a:f4:01:0a
    _k8s_pod_attach "$POD_B_NS" veth-pod-b "$K8S_POD_B_IP" 02:42:0a:f4:01:0b

    _vxlan_node "$NODE_A_NS" "$device" "$vni" "$port" "$UNDERLAY_NODE_A_IP" 0e:00:00:0a:f4:00 10.244.0.0 \
        "$UNDERLAY_NODE_B_IP" 0e:00:00:0a:f4:01 10.244.1.0
    _vxlan_node "$NODE_B_NS" "$device" "$vni" "$port" "$UNDERLAY_NODE_B_IP" 0e:00:00:0a:f4:01 10.244.1.0 \
        "$UNDERLAY_NODE_A_IP" 0e:00:00:0a:f4:00 10.244.0.0
    for ns in "$NODE_A_NS" "$NODE_B_NS"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
        ip netns exec "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=0
    done
}

# _vxlan_node NS DEVICE VNI PORT LOCAL_IP MAC SUBNET_ADDR PEER_IP PEER_MAC
# PEER_SUBNET_ADDR: what flanneld programs on each node for each peer: the
# device with no learning, a /32 of the node's pod subnet on it, an on-link
# route to the peer's /24 via the peer's .0 address, a permanent neighbour
# entry for that address and an FDB entry sending the peer's MAC to its
# underlay IP.
_vxlan_node() {
    local ns=$1 device=$2 vni=$3 port=$4 local_ip=$5 mac=$6 subnet=$7 peer_ip=$8 peer_mac=$9 peer_subnet=${10}
    ip -n "$ns" link add "$device" address "$mac" type vxlan id "$vni" local "$local_ip" dev eth0 \
        dstport "$port" nolearning
    ip -n "$ns" addr add "$subnet/32" dev "$device"
    ip -n "$ns" link set "$device" up
    ip -n "$ns" route add "$peer_subnet/24" via "$peer_subnet" dev "$device" onlink
    ip -n "$ns" neigh add "$peer_subnet" lladdr "$peer_mac" dev "$device" nud permanent
    ip netns exec "$ns" bridge fdb append "$peer_mac" dev "$device" dst "$peer_ip"
}

# ---------------------------------------------------------------------------
# Additions to the k8s_node_create topology: NodeLocal DNSCache, a CoreDNS
# endpoint on a second node, and an upstream resolver outside the cluster.

readonly K8S_NODELOCAL_DNS_IP=169.254.20.10
readonly NODE2_LINK_NODE_IP=192.168.70.1
readonly NODE2_LINK_NODE2_IP=192.168.70.2
readonly K8S_COREDNS2_POD_IP=10.244.2.53
readonly K8S_COREDNS2_GATEWAY_IP=10.244.2.1
readonly UPSTREAM_DNS_IP=192.0.2.53
readonly UPSTREAM_GATEWAY_IP=192.0.2.1

# nodelocal_dns_create: the interface NodeLocal DNSCache (node-local-dns)
# creates on every node to hold its link-local listen address: a *dummy*
# device named nodelocaldns with 169.254.20.10/32. This kernel has no dummy
# devices, so it is a bridge with no ports (which, like a dummy, only holds
# the address: packets to it are delivered locally). Pods reach it through
# their default route (br0, 10.244.1.1) and the node's INPUT path, not the
# FORWARD path that their traffic to the CoreDNS pod takes.
nodelocal_dns_create() {
    ip -n "$NODE_NS" link add nodelocaldns address 02:42:a9:fe:14:0a type bridge
    ip -n "$NODE_NS" addr add "$K8S_NODELOCAL_DNS_IP/32" dev nodelocaldns
    ip -n "$NODE_NS" link set nodelocaldns up
}

# remote_coredns_create PREFIX: a second CoreDNS endpoint "on another node",
# reached from the k8s_node_create node over a routed link (eth1, the node's
# uplink): sets NODE2_NS and COREDNS2_NS.
#
#   PREFIX-node eth1 192.168.70.1 ═══ eth1 192.168.70.2 PREFIX-node-2
#     (route 10.244.2.0/24 via .2)       veth-coredns 10.244.2.1
#                                          └ PREFIX-coredns-2 eth0 10.244.2.53
remote_coredns_create() {
    local prefix=$1 ns
    NODE2_NS=$prefix-node-2
    COREDNS2_NS=$prefix-coredns-2
    for ns in "$NODE2_NS" "$COREDNS2_NS"; do netns_create "$ns"; done
    veth_create "$NODE_NS" eth1 "$NODE2_NS" eth1
    ip -n "$NODE_NS" link set eth1 address 02:42:c0:a8:46:01
    ip -n "$NODE2_NS" link set eth1 address 02:42:c0:a8:46:02
    ip -n "$NODE_NS" addr add "$NODE2_LINK_NODE_IP/24" dev eth1
    ip -n "$NODE2_NS" addr add "$NODE2_LINK_NODE2_IP/24" dev eth1
    ip -n "$NODE_NS" link set eth1 up
    ip -n "$NODE2_NS" link set eth1 up
    ip -n "$NODE_NS" route add 10.244.2.0/24 via "$NODE2_LINK_NODE2_IP" dev eth1
    ip -n "$NODE2_NS" route add 10.244.1.0/24 via "$NODE2_LINK_NODE_IP" dev eth1

    veth_create "$NODE2_NS" veth-coredns "$COREDNS2_NS" eth0
    ip -n "$NODE2_NS" link set veth-coredns address 02:42:0a:f4:02:01
    ip -n "$COREDNS2_NS" link set eth0 address 02:42:0a:f4:02:35
    ip -n "$NODE2_NS" addr add "$K8S_COREDNS2_GATEWAY_IP/24" dev veth-coredns
    ip -n "$NODE2_NS" link set veth-coredns up
    ip -n "$COREDNS2_NS" addr add "$K8S_COREDNS2_POD_IP/24" dev eth0
    ip -n "$COREDNS2_NS" link set eth0 up
    ip -n "$COREDNS2_NS" route add default via "$K8S_COREDNS2_GATEWAY_IP"
    ip netns exec "$NODE2_NS" sysctl -qw net.ipv4.ip_forward=1
}

# upstream_create PREFIX: the resolver CoreDNS forwards to (in a cluster
# 8.8.8.8 or the VPC resolver), here 192.0.2.53 (TEST-NET-1) in its own
# namespace behind the node, which routes between it and the CoreDNS pod:
# sets UPSTREAM_NS.
#
#   PREFIX-coredns 10.244.0.53 ── veth-coredns 10.244.0.1  PREFIX-node
#                                 veth-upstream 192.0.2.1 ── eth0 192.0.2.53 PREFIX-upstream
upstream_create() {
    UPSTREAM_NS=$1-upstream
    netns_create "$UPSTREAM_NS"
    veth_create "$NODE_NS" veth-upstream "$UPSTREAM_NS" eth0
    ip -n "$NODE_NS" link set veth-upstream address 02:42:c0:00:02:01
    ip -n "$UPSTREAM_NS" link set eth0 address 02:42:c0:00:02:35
    ip -n "$NODE_NS" addr add "$UPSTREAM_GATEWAY_IP/24" dev veth-upstream
    ip -n "$NODE_NS" link set veth-upstream up
    ip -n "$UPSTREAM_NS" addr add "$UPSTREAM_DNS_IP/24" dev eth0
    ip -n "$UPSTREAM_NS" link set eth0 up
    ip -n "$UPSTREAM_NS" route add default via "$UPSTREAM_GATEWAY_IP"
}

# The node's own uplink and the network beyond it, for layouts where the
# node's address matters: CoreDNS with hostNetwork, NodeLocal DNSCache
# forwarding from the node, a hostNetwork client of the VPC resolver.
readonly K8S_NODE_IP=172.18.0.10
readonly NODE_UPLINK_GATEWAY_IP=172.18.0.1
# The Amazon VPC resolver's link-local address (resolver-throttled).
readonly VPC_RESOLVER_IP=169.254.169.253

# node_uplink_create PREFIX [ADDRESS...]: the node's uplink eth0 with the node
# address 172.18.0.10/24 and its default route via 172.18.0.1, the router in
# PREFIX-upstream, which also holds the upstream resolver's 192.0.2.53 (and
# each ADDRESS) on its loopback, as a resolver a few hops away would be, and
# routes the pod range back to the node (no masquerading). Sets UPSTREAM_NS.
#
#   PREFIX-node eth0 172.18.0.10 ══ eth0 172.18.0.1  PREFIX-upstream
#     default via 172.18.0.1           lo 192.0.2.53/32, route 10.244.0.0/16 via 172.18.0.10
node_uplink_create() {
    local address
    UPSTREAM_NS=$1-upstream
    shift
    netns_create "$UPSTREAM_NS"
    veth_create "$NODE_NS" eth0 "$UPSTREAM_NS" eth0
    ip -n "$NODE_NS" link set eth0 address 02:42:ac:12:00:0a
    ip -n "$UPSTREAM_NS" link set eth0 address 02:42:ac:12:00:01
    ip -n "$NODE_NS" addr add "$K8S_NODE_IP/24" dev eth0
    ip -n "$NODE_NS" link set eth0 up
    ip -n "$UPSTREAM_NS" addr add "$NODE_UPLINK_GATEWAY_IP/24" dev eth0
    ip -n "$UPSTREAM_NS" link set eth0 up
    for address in "$UPSTREAM_DNS_IP" "$@"; do
        ip -n "$UPSTREAM_NS" addr add "$address/32" dev lo
    done
    ip -n "$NODE_NS" route add default via "$NODE_UPLINK_GATEWAY_IP"
    ip -n "$UPSTREAM_NS" route add 10.244.0.0/16 via "$K8S_NODE_IP"
}

# ---------------------------------------------------------------------------
# nftables

# k8s_kube_proxy_dnat [BACKEND_IP]: the Service rule kube-proxy (nftables mode) installs for
# kube-dns: UDP and TCP 10.96.0.10:53 -> the CoreDNS pod. conntrack rewrites the
# replies' source back to the ClusterIP.
#
# BACKEND_IP (default the CoreDNS pod 10.244.0.53): the endpoint, the node
# address for CoreDNS with hostNetwork.
k8s_kube_proxy_dnat() {
    local backend=${1:-$K8S_COREDNS_POD_IP}
    ip netns exec "$NODE_NS" nft -f - <<EOF
table ip kube-proxy {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $K8S_CLUSTER_DNS_IP udp dport 53 counter dnat to $backend:53
        ip daddr $K8S_CLUSTER_DNS_IP tcp dport 53 counter dnat to $backend:53
    }
}
EOF
}

# k8s_kube_proxy_dnat_output: the same DNAT for the node's own packets (the
# output hook kube-proxy also installs), which NodeLocal DNSCache needs to
# reach the kube-dns ClusterIP. tcpdump on the node sees these packets after
# it: to the CoreDNS pod, never to the ClusterIP.
k8s_kube_proxy_dnat_output() {
    ip netns exec "$NODE_NS" nft -f - <<EOF
table ip kube-proxy {
    chain output {
        type nat hook output priority -100; policy accept;
        ip daddr $K8S_CLUSTER_DNS_IP udp dport 53 counter dnat to $K8S_COREDNS_POD_IP:53
        ip daddr $K8S_CLUSTER_DNS_IP tcp dport 53 counter dnat to $K8S_COREDNS_POD_IP:53
    }
}
EOF
}

# unbound_access_control FILE NETBLOCK ACTION: one more access-control line
# (allow, refuse, ...) in a k8s_coredns_unbound_config file; unbound applies
# the most specific netblock.
unbound_access_control() {
    sed -i "/^    access-control: 10.0.0.0\/8 allow\$/a\    access-control: $2 $3" "$1"
    grep -qF "access-control: $2 $3" "$1" || die "unbound_access_control: $1 unchanged"
    unbound-checkconf "$1" >/dev/null
}

# k8s_deny_dns_egress POD_IP: an egress default-deny NetworkPolicy that forgot
# DNS, enforced where CNIs such as Calico enforce pod egress: the node's
# forward path, after kube-proxy's DNAT (so the destination is already the
# CoreDNS pod IP; matching the pod's source address and port 53 covers both).
k8s_deny_dns_egress() {
    ip netns exec "$NODE_NS" nft -f - <<EOF
table inet network-policy {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ip saddr $1 udp dport 53 counter drop
        ip saddr $1 tcp dport 53 counter drop
    }
}
EOF
}

# k8s_kube_proxy_dnat6: the IPv6 twin of k8s_kube_proxy_dnat (a dual-stack
# kube-dns Service): UDP and TCP [fd00:10:96::a]:53 -> [fd00:10:244::53]:53.
k8s_kube_proxy_dnat6() {
    ip netns exec "$NODE_NS" nft -f - <<EOF
table ip6 kube-proxy {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip6 daddr $K8S_CLUSTER_DNS_IP6 udp dport 53 counter dnat to [$K8S_COREDNS_POD_IP6]:53
        ip6 daddr $K8S_CLUSTER_DNS_IP6 tcp dport 53 counter dnat to [$K8S_COREDNS_POD_IP6]:53
    }
}
EOF
}

# nft_network_policy NS RULE...: append RULEs (nftables rule text) to the
# forward chain of `table inet network-policy` in NS, the chain
# k8s_deny_dns_egress uses (created if missing). For policies other than "drop
# all DNS of one pod": UDP-only DNS, TCP rejected, IPv6, per VLAN.
nft_network_policy() {
    local ns=$1 rule rules=''
    shift
    for rule in "$@"; do rules+="        $rule"$'\n'; done
    ip netns exec "$ns" nft -f - <<EOF
table inet network-policy {
    chain forward {
        type filter hook forward priority filter; policy accept;
$rules    }
}
EOF
}

# k8s_kube_proxy_dnat_split: kube-dns with two CoreDNS endpoints, 10.244.0.53
# (this node) and 10.244.2.53 (remote_coredns_create), in the shape
# kube-proxy's nftables mode gives a Service: a service chain that picks an
# endpoint chain at random for each new connection (each new conntrack
# entry: every dig attempt, since each comes from a new source port), and one
# DNAT per endpoint, with counters that say how often each was picked.
k8s_kube_proxy_dnat_split() {
    ip netns exec "$NODE_NS" nft -f - <<EOF2
table ip kube-proxy {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $K8S_CLUSTER_DNS_IP udp dport 53 counter jump service-kube-dns-udp
        ip daddr $K8S_CLUSTER_DNS_IP tcp dport 53 counter jump service-kube-dns-tcp
    }
    chain service-kube-dns-udp {
        numgen random mod 2 vmap { 0 : goto endpoint-udp-coredns-local, 1 : goto endpoint-udp-coredns-remote }
    }
    chain service-kube-dns-tcp {
        numgen random mod 2 vmap { 0 : goto endpoint-tcp-coredns-local, 1 : goto endpoint-tcp-coredns-remote }
    }
    chain endpoint-udp-coredns-local { meta l4proto udp counter dnat to $K8S_COREDNS_POD_IP:53; }
    chain endpoint-udp-coredns-remote { meta l4proto udp counter dnat to $K8S_COREDNS2_POD_IP:53; }
    chain endpoint-tcp-coredns-local { meta l4proto tcp counter dnat to $K8S_COREDNS_POD_IP:53; }
    chain endpoint-tcp-coredns-remote { meta l4proto tcp counter dnat to $K8S_COREDNS2_POD_IP:53; }
}
EOF2
}

# k8s_conntrack_race_drop: the effect of the conntrack insertion race ("the
# 5-second DNS delay") made deterministic. glibc sends a lookup's A and AAAA
# queries with one sendmmsg() from one socket: two packets of one new UDP
# flow, microseconds apart. On a real node both are DNATed in parallel on two
# CPUs, both create a conntrack entry, and the one that loses the
# confirmation race is dropped (insert_failed). Here: the second packet of a
# flow to port 53 is dropped when no reply has come back yet. With conntrack
# accounting on ("ct original packets" counts the flow's packets, this one
# included) that is exactly the pair of a parallel lookup, whatever the
# names' lengths (a match on the question's type with @th would need a fixed
# offset, i.e. one name length). dig's single queries, glibc's retries (third
# and fourth packets of the flow) and a second query sent after an answer
# came back (glibc's single-request mode) pass. In the forward path, after
# kube-proxy's DNAT, as the real drop is.
k8s_conntrack_race_drop() {
    ip netns exec "$NODE_NS" sysctl -qw net.netfilter.nf_conntrack_acct=1
    nft_network_policy "$NODE_NS" \
        "ip saddr 10.244.1.0/24 udp dport 53 ct original packets 2 ct status ! seen-reply counter drop comment \"conntrack race: second query of a parallel pair\""
}

# ---------------------------------------------------------------------------
# dnsmasq as CoreDNS

# k8s_coredns_config FILE: a dnsmasq configuration standing in for CoreDNS:
# answers for a few cluster.local names, NXDOMAIN for any other name under
# cluster.local or 10.in-addr.arpa, and no upstream at all, so no query can
# leave the namespaces.
k8s_coredns_config() {
    cat >"$1" <<'EOF'
no-resolv
no-hosts
port=53
log-queries
local=/cluster.local/
local=/10.in-addr.arpa/
host-record=kubernetes.default.svc.cluster.local,10.96.0.1
host-record=kube-dns.kube-system.svc.cluster.local,10.96.0.10
host-record=redis.sales.svc.cluster.local,10.96.12.34,fd00:10:96::1234
host-record=api.payments.svc.cluster.local,10.96.45.67
host-record=mail.sales.svc.cluster.local,10.96.22.22
mx-host=sales.svc.cluster.local,mail.sales.svc.cluster.local,10
txt-record=_config.sales.svc.cluster.local,"v=1 env=test"
srv-host=_dns._udp.kube-dns.kube-system.svc.cluster.local,kube-dns.kube-system.svc.cluster.local,53,0,100
EOF
}

# k8s_coredns_large_records FILE: append to a k8s_coredns_config file names
# whose answers do not fit in 512 bytes, and let dnsmasq send UDP answers of
# up to 4096 bytes to clients that offer that much with EDNS (its default
# limit is 1232):
#   big.sales.svc.cluster.local TXT  12 records of one 240-byte string each
#                                    ("chunk00-abcd...", ..., "chunk11-..."):
#                                    a 3092-byte answer with EDNS
#   pods.sales.svc.cluster.local A   64 records 10.244.7.1-64: a 1070-byte
#                                    answer without EDNS
k8s_coredns_large_records() {
    local i text alphabet=abcdefghijklmnopqrstuvwxyz
    alphabet=$alphabet$alphabet$alphabet$alphabet$alphabet$alphabet$alphabet$alphabet$alphabet$alphabet
    {
        echo "edns-packet-max=4096"
        for ((i = 0; i < 12; i++)); do
            printf -v text 'chunk%02d-%s' "$i" "$alphabet"
            echo "txt-record=big.sales.svc.cluster.local,\"${text:0:240}\""
        done
        for ((i = 1; i <= 64; i++)); do
            echo "host-record=pods.sales.svc.cluster.local,10.244.7.$i"
        done
    } >>"$1"
}

# dnsmasq_start NS LISTEN_IP CONFIG_FILE LOG_FILE [CPUS]: run dnsmasq in the
# foreground (as a background job of this script) with only CONFIG_FILE, and
# wait until it answers; with CPUS, only on those CPUs (taskset -c CPUS).
# Sets DNSMASQ_PID.
dnsmasq_start() {
    local ns=$1 listen_ip=$2 config=$3 log_file=$4 tries pin=()
    [[ -z ${5:-} ]] || pin=(taskset -c "$5")
    ip netns exec "$ns" "${pin[@]}" dnsmasq --keep-in-foreground --conf-file="$config" \
        --listen-address="$listen_ip" --bind-interfaces --user=root --group=root \
        --log-facility="$log_file" &
    DNSMASQ_PID=$!
    netns_cleanup_add pid "$DNSMASQ_PID"
    # Readiness probe from inside the CoreDNS namespace (over its loopback
    # path), so it never shows up on the pod bridge we capture.
    for ((tries = 0; tries < 50; tries++)); do
        process_alive "$DNSMASQ_PID" || die "dnsmasq exited at start-up; see $log_file"
        if ip netns exec "$ns" dig @"$listen_ip" +time=1 +tries=1 +short version.bind CH TXT >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "dnsmasq in $ns did not answer within 5 s"
}

dnsmasq_stop() {
    stop_process "$DNSMASQ_PID" TERM
    netns_cleanup_forget pid "$DNSMASQ_PID"
}

# k8s_coredns_external_names FILE: append to a k8s_coredns_config file
# answers for a few names outside the cluster, as CoreDNS would get them from
# its upstream (documentation addresses; nothing is forwarded anywhere):
#   api.github.com        A 203.0.113.10  AAAA 2001:db8::10
#   registry-1.docker.io  A 203.0.113.20  AAAA 2001:db8::20
# address=/NAME/ also covers names *under* NAME, never NAME.default.svc...:
# those stay under local=/cluster.local/ and get NXDOMAIN.
k8s_coredns_external_names() {
    cat >>"$1" <<'EOF2'
address=/api.github.com/203.0.113.10
address=/api.github.com/2001:db8::10
address=/registry-1.docker.io/203.0.113.20
address=/registry-1.docker.io/2001:db8::20
EOF2
}

# server_stop PID: stop a server started by dnsmasq_start or unbound_start
# before the end of its scenario (so that its log is complete).
server_stop() {
    stop_process "$1" TERM
    netns_cleanup_forget pid "$1"
}

# unbound_server_head INTERFACE DIRECTORY LOG_FILE: the `server:` lines every
# unbound here shares (one thread, no chroot or privilege drop, queries,
# replies and SERVFAILs logged to LOG_FILE, iterator only).
unbound_server_head() {
    cat <<EOF2
server:
    interface: $1
    port: 53
    access-control: 10.0.0.0/8 allow
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    pidfile: ""
    directory: "$2"
    use-syslog: no
    logfile: "$3"
    verbosity: 1
    log-queries: yes
    log-replies: yes
    log-servfail: yes
    module-config: "iterator"
EOF2
}

# k8s_coredns_unbound_config FILE LOG_FILE UPSTREAM_IP [LISTEN_IP]: unbound standing in
# for CoreDNS with its forward plugin (`forward . UPSTREAM`): the same
# cluster.local data as k8s_coredns_config, answered locally (NXDOMAIN for
# other cluster.local names), everything else forwarded to UPSTREAM_IP.
# dnsmasq cannot play this part: when its upstream does not answer it sends
# the client nothing at all (and answers REFUSED when it cannot send), where
# CoreDNS answers SERVFAIL. unbound answers SERVFAIL, but by default only
# after 15 s and more of backing off; the three infra-* / outbound-* lines
# make it give up on the upstream after two attempts (0.75-1.5 s), within
# dig's 5 s timeout as CoreDNS's forward plugin does, and try the upstream
# afresh for every query instead of remembering it as down.
#
# LISTEN_IP (default the CoreDNS pod's 10.244.0.53) is where it serves: the
# node address for CoreDNS with hostNetwork.
k8s_coredns_unbound_config() {
    {
        unbound_server_head "${4:-$K8S_COREDNS_POD_IP}" "$(dirname "$1")" "$2"
        cat <<EOF2
    infra-cache-max-rtt: 1000
    outbound-msg-retry: 1
    infra-host-ttl: 0
    local-zone: "cluster.local." static
    local-data: "kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1"
    local-data: "kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10"
    local-data: "redis.sales.svc.cluster.local. 5 IN A 10.96.12.34"
    local-data: "redis.sales.svc.cluster.local. 5 IN AAAA fd00:10:96::1234"
    local-data: "api.payments.svc.cluster.local. 5 IN A 10.96.45.67"
forward-zone:
    name: "."
    forward-addr: $3
EOF2
    } >"$1"
    unbound-checkconf "$1" >/dev/null
}

# nodelocal_unbound_config FILE LOG_FILE FORWARD_IP: unbound standing in for
# NodeLocal DNSCache (node-local-dns) on 169.254.20.10: a cache forwarding
# every name to FORWARD_IP (the kube-dns ClusterIP) over TCP only
# (tcp-upstream, CoreDNS's force_tcp). unknown-server-time-limit and
# infra-cache-min-rtt 3000: wait 3 s for an answer, as CoreDNS's forward
# plugin does, instead of unbound's 376 ms at first and then a timeout from
# the measured round trips (about 1 s), which gave up on CoreDNS before
# CoreDNS itself had given up on its upstream (a new TCP connection, the
# query again, and a reset for the old one); outbound-msg-retry 0: pass a
# SERVFAIL on to the pod as CoreDNS does, instead of asking again 4 times;
# infra-host-ttl 0 as in k8s_coredns_unbound_config.
nodelocal_unbound_config() {
    {
        unbound_server_head "$K8S_NODELOCAL_DNS_IP" "$(dirname "$1")" "$2"
        cat <<EOF2
    tcp-upstream: yes
    unknown-server-time-limit: 3000
    infra-cache-min-rtt: 3000
    outbound-msg-retry: 0
    infra-host-ttl: 0
forward-zone:
    name: "."
    forward-addr: $3
EOF2
    } >"$1"
    unbound-checkconf "$1" >/dev/null
}

# unbound_start NS LISTEN_IP CONFIG_FILE: run unbound in the foreground (as a
# background job of this script) and wait until it answers, probing as
# dnsmasq_start does (version.bind over the namespace's own loopback path).
# Sets UNBOUND_PID.
unbound_start() {
    local ns=$1 listen_ip=$2 config=$3 tries
    ip netns exec "$ns" unbound -d -c "$config" &
    UNBOUND_PID=$!
    netns_cleanup_add pid "$UNBOUND_PID"
    for ((tries = 0; tries < 50; tries++)); do
        process_alive "$UNBOUND_PID" || die "unbound exited at start-up (config $config)"
        if ip netns exec "$ns" dig @"$listen_ip" +time=1 +tries=1 +short version.bind CH TXT >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "unbound in $ns did not answer within 5 s"
}

# dnsdist_start NS LISTEN_IP CONFIG_FILE LOG_FILE: run dnsdist (the DNS load
# balancer) in the foreground with only CONFIG_FILE (Lua), output to
# LOG_FILE, and wait until it answers, probing as dnsmasq_start does. Sets
# DNSDIST_PID.
dnsdist_start() {
    local ns=$1 listen_ip=$2 config=$3 log_file=$4 tries
    ip netns exec "$ns" dnsdist --supervised --disable-syslog --config "$config" >"$log_file" 2>&1 &
    DNSDIST_PID=$!
    netns_cleanup_add pid "$DNSDIST_PID"
    for ((tries = 0; tries < 50; tries++)); do
        process_alive "$DNSDIST_PID" || die "dnsdist exited at start-up: $(cat "$log_file")"
        if ip netns exec "$ns" dig @"$listen_ip" +time=1 +tries=1 +short version.bind CH TXT >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "dnsdist in $ns did not answer within 5 s"
}

# ---------------------------------------------------------------------------
# tcpdump

# tcpdump_start NS IFACE FILE FILTER: capture to FILE (pcap) packet-buffered,
# and return once tcpdump reports it is listening. Sets TCPDUMP_PID.
tcpdump_start() {
    local ns=$1 iface=$2 file=$3 filter=$4 tries
    TCPDUMP_STDERR=$file.tcpdump.log
    # -Z root: tcpdump would otherwise drop to user tcpdump and fail to write.
    # -U/--immediate-mode: every packet reaches the file as it is seen.
    # -B 32768 (KiB): immediate mode uses a ring of snaplen-sized slots, and
    # the default 2 MB holds only about 8 of 262144 bytes: bursts while tcpdump
    # waits for a CPU (-i any sees each packet 2-3 times) lost 1-7 packets.
    ip netns exec "$ns" tcpdump -i "$iface" -nn -s 262144 -B 32768 -U --immediate-mode \
        -Z root -w "$file" "$filter" 2>"$TCPDUMP_STDERR" &
    TCPDUMP_PID=$!
    netns_cleanup_add pid "$TCPDUMP_PID"
    for ((tries = 0; tries < 50; tries++)); do
        grep -q 'listening on' "$TCPDUMP_STDERR" 2>/dev/null && return 0
        process_alive "$TCPDUMP_PID" || die "tcpdump failed: $(cat "$TCPDUMP_STDERR")"
        sleep 0.1
    done
    die "tcpdump on $ns/$iface not ready within 5 s"
}

# tcpdump_stop: let late packets arrive, stop tcpdump with SIGINT (it then
# flushes and prints its counters), and log those counters. Sets
# TCPDUMP_DROPPED to the kernel's drop count ("" if tcpdump did not say).
tcpdump_stop() {
    sleep 0.5
    stop_process "$TCPDUMP_PID" INT
    netns_cleanup_forget pid "$TCPDUMP_PID"
    grep -E 'packets? (captured|received|dropped)' "$TCPDUMP_STDERR" >&2 || true
    # shellcheck disable=SC2034 # read by the caller
    TCPDUMP_DROPPED=$(sed -nE 's/^([0-9]+) packets? dropped by kernel$/\1/p' "$TCPDUMP_STDERR")
    rm -f -- "$TCPDUMP_STDERR"
}

# ---------------------------------------------------------------------------
# Two nodes and a router between them (issue 10: several vantage points)

readonly MULTINODE_NODE_A_IP=172.18.0.10
readonly MULTINODE_ROUTER_A_IP=172.18.0.1
readonly MULTINODE_NODE_B_IP=172.18.1.10
readonly MULTINODE_ROUTER_B_IP=172.18.1.1
# The pod on node A that asks CoreDNS on its own node.
readonly MULTINODE_LOCAL_POD_IP=10.244.0.20
# The third pod on node B (next to K8S_POD_A_IP and K8S_POD_B_IP).
readonly MULTINODE_POD_C_IP=10.244.1.12
# The gateway every routed pod uses, as on AWS VPC CNI (and Calico).
readonly ROUTED_POD_GATEWAY_IP=169.254.1.1

# routed_pod_attach NODE_NS HOST_IF HOST_MAC POD_NS POD_IP POD_MAC: a pod
# wired as AWS VPC CNI wires one: eth0 POD_IP/32, default via 169.254.1.1
# (a static neighbour entry for it pointing at HOST_IF), and on the node a
# /32 route to POD_IP through HOST_IF (no address on it) with a static
# neighbour entry for the pod. Every packet to or from the pod is routed by
# the node (no bridge), so kube-proxy's DNAT and its reverse apply even
# between two pods of the same node; no ARP ever crosses the veth.
routed_pod_attach() {
    local node_ns=$1 host_if=$2 host_mac=$3 ns=$4 ip=$5 mac=$6
    veth_create "$node_ns" "$host_if" "$ns" eth0
    ip -n "$node_ns" link set "$host_if" address "$host_mac" up
    ip -n "$ns" link set eth0 address "$mac" up
    ip -n "$ns" addr add "$ip/32" dev eth0
    ip -n "$ns" neigh add "$ROUTED_POD_GATEWAY_IP" lladdr "$host_mac" dev eth0 nud permanent
    ip -n "$ns" route add "$ROUTED_POD_GATEWAY_IP" dev eth0 scope link
    ip -n "$ns" route add default via "$ROUTED_POD_GATEWAY_IP" dev eth0
    ip -n "$node_ns" neigh add "$ip" lladdr "$mac" dev "$host_if" nud permanent
    ip -n "$node_ns" route add "$ip/32" dev "$host_if" scope link
    set_resolv_conf "$ns" "search default.svc.cluster.local svc.cluster.local cluster.local
nameserver $K8S_CLUSTER_DNS_IP
options ndots:5"
}

# multinode_create PREFIX: two nodes in two subnets with a router between
# them (the VPC), pods routed per node. Sets NODE_A_NS, NODE_B_NS, ROUTER_NS,
# COREDNS_NS, LOCAL_POD_NS, POD_A_NS, POD_B_NS, POD_C_NS.
#
#   PREFIX-coredns 10.244.0.53 ─ veth-coredns ┐                       ┌ veth-pod-a ─ PREFIX-pod-a 10.244.1.10
#   PREFIX-pod-local 10.244.0.20 ─ veth-local ┤ PREFIX-node-a         │ veth-pod-b ─ PREFIX-pod-b 10.244.1.11
#                                             │ eth0 172.18.0.10      │ veth-pod-c ─ PREFIX-pod-c 10.244.1.12
#                                             │   ║      PREFIX-node-b eth0 172.18.1.10
#                        eth-a 172.18.0.1 ════╝   ║                       ║
#                           PREFIX-router ────────╨──── eth-b 172.18.1.1 ═╝
#                           route 10.244.0.0/24 via 172.18.0.10, 10.244.1.0/24 via 172.18.1.10
#
# Each node: default via its router address, pod routes /32 per pod. No
# masquerading, no overlay: pod addresses cross the router as they are.
multinode_create() {
    local prefix=$1 ns
    NODE_A_NS=$prefix-node-a
    NODE_B_NS=$prefix-node-b
    ROUTER_NS=$prefix-router
    COREDNS_NS=$prefix-coredns
    LOCAL_POD_NS=$prefix-pod-local
    POD_A_NS=$prefix-pod-a
    POD_B_NS=$prefix-pod-b
    POD_C_NS=$prefix-pod-c
    for ns in "$NODE_A_NS" "$NODE_B_NS" "$ROUTER_NS" "$COREDNS_NS" "$LOCAL_POD_NS" \
        "$POD_A_NS" "$POD_B_NS" "$POD_C_NS"; do
        netns_create "$ns"
    done

    veth_create "$NODE_A_NS" eth0 "$ROUTER_NS" eth-a
    veth_create "$NODE_B_NS" eth0 "$ROUTER_NS" eth-b
    ip -n "$NODE_A_NS" link set eth0 address 02:42:ac:12:00:0a up
    ip -n "$NODE_B_NS" link set eth0 address 02:42:ac:12:01:0a up
    ip -n "$ROUTER_NS" link set eth-a address 02:42:ac:12:00:01 up
    ip -n "$ROUTER_NS" link set eth-b address 02:42:ac:12:01:01 up
    ip -n "$NODE_A_NS" addr add "$MULTINODE_NODE_A_IP/24" dev eth0
    ip -n "$NODE_B_NS" addr add "$MULTINODE_NODE_B_IP/24" dev eth0
    ip -n "$ROUTER_NS" addr add "$MULTINODE_ROUTER_A_IP/24" dev eth-a
    ip -n "$ROUTER_NS" addr add "$MULTINODE_ROUTER_B_IP/24" dev eth-b
    ip -n "$NODE_A_NS" route add default via "$MULTINODE_ROUTER_A_IP"
    ip -n "$NODE_B_NS" route add default via "$MULTINODE_ROUTER_B_IP"
    ip -n "$ROUTER_NS" route add 10.244.0.0/24 via "$MULTINODE_NODE_A_IP"
    ip -n "$ROUTER_NS" route add 10.244.1.0/24 via "$MULTINODE_NODE_B_IP"

    routed_pod_attach "$NODE_A_NS" veth-coredns 02:42:0a:f4:00:01 "$COREDNS_NS" "$K8S_COREDNS_POD_IP" 02:42:0a:f4:00:35
    routed_pod_attach "$NODE_A_NS" veth-local 02:42:0a:f4:00:02 "$LOCAL_POD_NS" "$MULTINODE_LOCAL_POD_IP" 02:42:0a:f4:00:14
    routed_pod_attach "$NODE_B_NS" veth-pod-a 02:42:0a:f4:01:01 "$POD_A_NS" "$K8S_POD_A_IP" 02:42:0a:f4:01:0a
    routed_pod_attach "$NODE_B_NS" veth-pod-b 02:42:0a:f4:01:02 "$POD_B_NS" "$K8S_POD_B_IP" 02:42:0a:f4:01:0b
    routed_pod_attach "$NODE_B_NS" veth-pod-c 02:42:0a:f4:01:03 "$POD_C_NS" "$MULTINODE_POD_C_IP" 02:42:0a:f4:01:0c

    for ns in "$NODE_A_NS" "$NODE_B_NS" "$ROUTER_NS"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    done
}

# multinode_router_drops: the VPC's part in issue 10's incident, as nftables
# in the router's forward path: pod 10.244.1.11's queries are dropped on
# their way to CoreDNS (forward leg), and the answers to pod 10.244.1.12 on
# their way back (return leg: a security group or NACL that forgot the
# replies, an asymmetric route).
multinode_router_drops() {
    ip netns exec "$ROUTER_NS" nft -f - <<EOF
table inet vpc {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ip saddr $K8S_POD_B_IP meta l4proto { udp, tcp } th dport 53 counter drop comment "forward leg: queries of 10.244.1.11"
        ip daddr $MULTINODE_POD_C_IP meta l4proto { udp, tcp } th sport 53 counter drop comment "return leg: answers to 10.244.1.12"
    }
}
EOF
}
