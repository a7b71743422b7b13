// SPDX-License-Identifier: GPL-2.0
// 802.1Q tags for a veth "trunk", pushed and popped by tc (clsact) instead of
// the 8021q module, which this kernel lacks (`ip link add ... type vlan` fails
// with "Error: Unknown device type."). Built at record time by lib/netns.sh
// (vlan_trunk_bpf_build) with clang -target bpf; attached by vlan_trunk_attach:
//
//   tc filter add dev IF egress  bpf direct-action obj vlan-trunk.o sec tc/push
//   tc filter add dev IF ingress bpf direct-action obj vlan-trunk.o sec tc/pop
//
// tc/push (egress): an IPv4 frame from or to POD_A gets VLAN_A, from or to POD_B
//   VLAN_B, anything else (ARP, IPv6) leaves untagged. bpf_skb_vlan_push sets the
//   skb's VLAN tag the way a NIC with tag offload would; tcpdump on the device
//   sees it (libpcap re-inserts the 4-byte 802.1Q header from the packet's
//   auxiliary data), and so does the peer veth.
// tc/pop (ingress): a tagged frame loses its tag, and the VLAN id is kept in
//   skb->mark so that nftables rules further on can still tell which VLAN (that
//   is, which branch ENI) the packet arrived on ("meta mark 102"). Without the
//   pop, the kernel would drop the frame: no VLAN device claims the tag.
//
// POD_A, POD_B (IPv4 addresses as IPV4(a, b, c, d)), VLAN_A, VLAN_B come from -D.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HTONS(x) __builtin_bswap16(x)
#define HTONL(x) __builtin_bswap32(x)
#else
#define HTONS(x) (x)
#define HTONL(x) (x)
#endif
#define IPV4(a, b, c, d) HTONL(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#if !defined(POD_A) || !defined(POD_B) || !defined(VLAN_A) || !defined(VLAN_B)
#error "build with -DPOD_A=IPV4(...) -DVLAN_A=N -DPOD_B=IPV4(...) -DVLAN_B=N"
#endif

// Helpers by number, so no libbpf headers are needed (only linux-libc-dev).
static long (*bpf_skb_vlan_push)(struct __sk_buff *skb, __be16 proto, __u16 vlan_tci) =
    (void *)BPF_FUNC_skb_vlan_push;
static long (*bpf_skb_vlan_pop)(struct __sk_buff *skb) = (void *)BPF_FUNC_skb_vlan_pop;

__attribute__((section("tc/push"), used)) int vlan_push(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != HTONS(ETH_P_IP))
        return TC_ACT_OK;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return TC_ACT_OK;
    __u16 vid;
    if (ip->saddr == POD_A || ip->daddr == POD_A)
        vid = VLAN_A;
    else if (ip->saddr == POD_B || ip->daddr == POD_B)
        vid = VLAN_B;
    else
        return TC_ACT_OK;
    return bpf_skb_vlan_push(skb, HTONS(ETH_P_8021Q), vid) == 0 ? TC_ACT_OK : TC_ACT_SHOT;
}

__attribute__((section("tc/pop"), used)) int vlan_pop(struct __sk_buff *skb) {
    if (!skb->vlan_present)
        return TC_ACT_OK;
    skb->mark = skb->vlan_tci & 0x0fff;
    return bpf_skb_vlan_pop(skb) == 0 ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
