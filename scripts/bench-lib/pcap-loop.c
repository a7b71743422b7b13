/*
 * pcap-loop: the floor for any libpcap-based reader. Opens a capture file and
 * calls pcap_next_ex on every packet, counting packets and captured bytes,
 * nothing else. scripts/bench builds it with gcc -O2 -lpcap.
 *
 *   pcap-loop FILE   ->  "PACKETS packets BYTES bytes" on stdout
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: pcap-loop FILE\n");
        return 64;
    }
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pcap = pcap_open_offline(argv[1], errbuf);
    if (!pcap) {
        fprintf(stderr, "pcap-loop: %s\n", errbuf);
        return 2;
    }
    struct pcap_pkthdr *header;
    const u_char *data;
    uint64_t packets = 0, bytes = 0;
    int status;
    while ((status = pcap_next_ex(pcap, &header, &data)) == 1) {
        packets++;
        bytes += header->caplen;
    }
    if (status == PCAP_ERROR) {
        fprintf(stderr, "pcap-loop: %s\n", pcap_geterr(pcap));
        return 2;
    }
    printf("%" PRIu64 " packets %" PRIu64 " bytes\n", packets, bytes);
    pcap_close(pcap);
    return 0;
}
