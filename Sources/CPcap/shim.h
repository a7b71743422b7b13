#ifndef DNSTRAIL_CPCAP_SHIM_H
#define DNSTRAIL_CPCAP_SHIM_H
#include <pcap/pcap.h>
#include <pcap/sll.h>
#include <stdio_ext.h>
#endif
