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
)

# ensure_commands CMD... : install the packages providing any missing CMD.
ensure_commands() {
    local command missing=()
    for command in "$@"; do
        command -v "$command" >/dev/null 2>&1 && continue
        missing+=("${NETNS_PACKAGE_FOR_COMMAND[$command]:?no package known for command $command}")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing missing packages: ${missing[*]}"
    # tshark's package would otherwise stop and ask whether to install dumpcap setuid.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # A fresh machine may have empty package lists; try without updating first.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
    for command in "$@"; do
        command -v "$command" >/dev/null 2>&1 || die "command $command still missing after install"
    done
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
    ip -n "$NODE_NS" link add br0 address 02:42:0a:f4:01:01 type bridge
    ip -n "$NODE_NS" addr add "$K8S_POD_GATEWAY_IP/24" dev br0
    ip -n "$NODE_NS" link set br0 up
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
    local ns=$1 host_if=$2 ip_address=$3 mac=$4
    veth_create "$NODE_NS" "$host_if" "$ns" eth0
    ip -n "$NODE_NS" link set "$host_if" master br0 up
    ip -n "$ns" link set eth0 address "$mac"
    ip -n "$ns" addr add "$ip_address/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$K8S_POD_GATEWAY_IP"
    # What the kubelet writes for a pod in namespace "default" (ClusterFirst).
    set_resolv_conf "$ns" "search default.svc.cluster.local svc.cluster.local cluster.local
nameserver $K8S_CLUSTER_DNS_IP
options ndots:5"
}

# ---------------------------------------------------------------------------
# nftables

# k8s_kube_proxy_dnat: the Service rule kube-proxy (nftables mode) installs for
# kube-dns: UDP and TCP 10.96.0.10:53 -> the CoreDNS pod. conntrack rewrites the
# replies' source back to the ClusterIP.
k8s_kube_proxy_dnat() {
    ip netns exec "$NODE_NS" nft -f - <<EOF
table ip kube-proxy {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $K8S_CLUSTER_DNS_IP udp dport 53 counter dnat to $K8S_COREDNS_POD_IP:53
        ip daddr $K8S_CLUSTER_DNS_IP tcp dport 53 counter dnat to $K8S_COREDNS_POD_IP:53
    }
}
EOF
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

# dnsmasq_start NS LISTEN_IP CONFIG_FILE LOG_FILE: run dnsmasq in the
# foreground (as a background job of this script) with only CONFIG_FILE, and
# wait until it answers. Sets DNSMASQ_PID.
dnsmasq_start() {
    local ns=$1 listen_ip=$2 config=$3 log_file=$4 tries
    ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file="$config" \
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

# ---------------------------------------------------------------------------
# tcpdump

# tcpdump_start NS IFACE FILE FILTER: capture to FILE (pcap) packet-buffered,
# and return once tcpdump reports it is listening. Sets TCPDUMP_PID.
tcpdump_start() {
    local ns=$1 iface=$2 file=$3 filter=$4 tries
    TCPDUMP_STDERR=$file.tcpdump.log
    # -Z root: tcpdump would otherwise drop to user tcpdump and fail to write.
    # -U/--immediate-mode: every packet reaches the file as it is seen.
    ip netns exec "$ns" tcpdump -i "$iface" -nn -s 262144 -U --immediate-mode \
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
# flushes and prints its counters), and log those counters.
tcpdump_stop() {
    sleep 0.5
    stop_process "$TCPDUMP_PID" INT
    netns_cleanup_forget pid "$TCPDUMP_PID"
    grep -E 'packets (captured|received|dropped)' "$TCPDUMP_STDERR" >&2 || true
    rm -f -- "$TCPDUMP_STDERR"
}
