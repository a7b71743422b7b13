/*
 * dnsgen: writes a large, realistic synthetic DNS capture (pcap, Ethernet,
 * microsecond timestamps) for scripts/bench, or repeats an existing capture
 * with shifted timestamps for the scaling series.
 *
 *   dnsgen -n PACKETS -o OUT.pcap [-s SEED] [-r LOOKUPS_PER_SECOND] [--stats FILE]
 *   dnsgen --repeat N -i IN.pcap -o OUT.pcap [--gap SECONDS]
 *
 * Traffic model (one "lookup" = what a pod's resolver does for one name):
 *  - a few hundred clients 10.244.x.y (about 5 % dual-stack, asking over IPv6
 *    fd00:10:244:x::y -> fd00:10:96::a), each in a Kubernetes namespace whose
 *    search path is  NS.svc.cluster.local svc.cluster.local cluster.local,
 *    ndots:5;
 *  - servers: the kube-dns ClusterIP 10.96.0.10 (80 %) and two CoreDNS pod IPs
 *    10.244.0.53 / 10.244.0.54 (10 % each);
 *  - lookups arrive as a Poisson process; popular names and chatty clients
 *    follow a skewed (Zipf-like) distribution;
 *  - kinds: service FQDNs, short names expanded in the pod's namespace,
 *    cross-namespace names (one NXDOMAIN first), external names walked through
 *    the whole search path (3 NXDOMAIN then NOERROR, sometimes SERVFAIL),
 *    names that do not exist, PTR, SRV, TXT, MX;
 *  - A and AAAA are sent together from one socket (two ids, one port), as
 *    glibc does; AAAA of a ClusterIP service is NODATA (NOERROR, SOA only);
 *  - about 1.3 % of UDP attempts get no answer; half of those are retried
 *    1-4 s later with the same id from a new source port (answered 60 % of
 *    the time): about 1 % of queries end unanswered;
 *  - about 0.5 % of lookups use TCP (3-way handshake, 2-byte length framing,
 *    FIN both ways), some of them after a UDP answer with TC=1;
 *  - latencies 0.1-5 ms for cluster names, 1-50 ms for external names;
 *  - IPv4/IPv6 header lengths, UDP lengths and all checksums (IPv4 header,
 *    UDP, TCP) are computed.
 *
 * Output is time ordered: packets wait in a min-heap until no lookup that
 * starts later can produce an earlier packet. Deterministic for a given seed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* utilities */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("dnsgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) die("out of memory");
    return p;
}

static uint64_t rng_state;

static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rnd01(void) { return (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0); }
static uint32_t rnd_below(uint32_t n) { return (uint32_t)(rnd01() * n); }
static uint64_t rnd_range(uint64_t lo, uint64_t hi) { return lo + (uint64_t)(rnd01() * (double)(hi - lo + 1)); }
static int chance(double p) { return rnd01() < p; }
/* skewed index in [0, n): small indices much more likely */
static uint32_t rnd_skewed(uint32_t n, double skew) {
    uint32_t i = (uint32_t)(n * pow(rnd01(), skew));
    return i < n ? i : n - 1;
}
static double rnd_normal(void) {
    double u1 = rnd01(), u2 = rnd01();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
/* log-normal latency in ns, median MEDIAN_US, clamped to [LO_US, HI_US] */
static uint64_t latency_ns(double median_us, double sigma, double lo_us, double hi_us) {
    double us = median_us * exp(sigma * rnd_normal());
    if (us < lo_us) us = lo_us;
    if (us > hi_us) us = hi_us;
    return (uint64_t)(us * 1000.0);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_US 1000ULL

/* ------------------------------------------------------------------ */
/* names */

static const char *namespaces[] = {
    "default", "kube-system", "payments", "sales", "checkout", "auth", "monitoring",
    "logging", "ingress-nginx", "data", "search", "frontend",
};
#define NAMESPACE_COUNT (sizeof namespaces / sizeof *namespaces)

static const char *services[] = {
    "api", "redis", "postgres", "mysql", "kafka", "zookeeper", "elasticsearch", "prometheus",
    "grafana", "auth", "users", "orders", "cart", "inventory", "catalog", "billing",
    "notifications", "gateway", "web", "worker", "memcached", "rabbitmq", "mongo", "minio",
    "vault", "consul", "jaeger-collector", "otel-collector", "loki", "tempo",
};
#define SERVICE_COUNT (sizeof services / sizeof *services)

static const char *external_names[] = {
    "api.github.com", "github.com", "registry-1.docker.io", "auth.docker.io",
    "production.cloudflare.docker.com", "quay.io", "gcr.io", "storage.googleapis.com",
    "www.googleapis.com", "oauth2.googleapis.com", "s3.amazonaws.com", "s3.eu-west-1.amazonaws.com",
    "sts.amazonaws.com", "ec2.eu-west-1.amazonaws.com", "api.stripe.com", "hooks.slack.com",
    "api.twilio.com", "sentry.io", "o123456.ingest.sentry.io", "api.datadoghq.com",
    "http-intake.logs.datadoghq.com", "pypi.org", "files.pythonhosted.org", "registry.npmjs.org",
    "login.microsoftonline.com", "graph.microsoft.com", "api.openai.com", "smtp.sendgrid.net",
    "api.sendgrid.com", "www.google.com", "ntp.ubuntu.com", "security.debian.org",
    "deb.debian.org", "dl-cdn.alpinelinux.org", "api.segment.io", "cdn.jsdelivr.net",
    "fonts.googleapis.com", "api.pagerduty.com", "events.pagerduty.com", "pkc-12345.eu-west-1.aws.confluent.cloud",
};
#define EXTERNAL_COUNT (sizeof external_names / sizeof *external_names)

static const char *mail_domains[] = {"example.com", "sales.example.com", "corp.example.net", "mail.example.org"};
#define MAIL_DOMAIN_COUNT (sizeof mail_domains / sizeof *mail_domains)

static const char *srv_prefixes[] = {"_http._tcp", "_grpc._tcp", "_metrics._tcp", "_dns._udp"};
#define SRV_PREFIX_COUNT (sizeof srv_prefixes / sizeof *srv_prefixes)

/* Does service S exist in namespace N? A fixed, pseudo-random third of the pairs. */
static int service_exists(uint32_t s, uint32_t n) {
    if (n == 1 && s == 0) return 1; /* kube-system */
    return ((s * 7 + n * 13 + (s * n) % 5) % 3) == 0;
}

/* ------------------------------------------------------------------ */
/* DNS types and codes */

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16, T_AAAA = 28, T_SRV = 33, T_OPT = 41 };
enum { RC_NOERROR = 0, RC_SERVFAIL = 2, RC_NXDOMAIN = 3 };

typedef struct {
    char name[256];   /* without trailing dot */
    uint16_t qtype;
    uint8_t edns;     /* query carries an OPT record (and so does the response) */
} Question;

/* what the server answers: rcode, and for NOERROR whether there is data */
typedef struct {
    uint8_t rcode;
    uint8_t nodata;     /* NOERROR with no answer (SOA in authority) */
    uint8_t truncated;  /* TC=1, no records: the client must retry over TCP */
    uint8_t authoritative;
} Outcome;

/* ------------------------------------------------------------------ */
/* wire writing */

static uint8_t *put8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v) { p = put16(p, (uint16_t)(v >> 16)); return put16(p, (uint16_t)v); }

/* labels of a dotted name (no trailing dot), root label included */
static uint8_t *put_name(uint8_t *p, const char *name) {
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        if (len == 0 || len > 63) die("bad label in %s", name);
        *p++ = (uint8_t)len;
        memcpy(p, label, len);
        p += len;
        label += len + (dot ? 1 : 0);
    }
    *p++ = 0;
    return p;
}

/* labels of LABELS (dotted, may be empty) followed by a compression pointer to offset TARGET */
static uint8_t *put_name_then_pointer(uint8_t *p, const char *labels, uint16_t target) {
    if (*labels) {
        p = put_name(p, labels) - 1; /* drop the root label */
    }
    return put16(p, (uint16_t)(0xC000 | target));
}

/* offset (in a message whose question name starts at 12) of the suffix of NAME
 * made of its last KEEP labels */
static uint16_t suffix_offset(const char *name, int keep) {
    int labels = 1;
    for (const char *c = name; *c; c++) labels += (*c == '.');
    int skip = labels - keep;
    const char *s = name;
    while (skip-- > 0) s = strchr(s, '.') + 1;
    return (uint16_t)(12 + (s - name));
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* the zone a name belongs to, as the number of its trailing labels */
static int zone_labels(const char *name) {
    if (ends_with(name, ".cluster.local")) return 2;
    if (ends_with(name, ".in-addr.arpa")) return 3;
    return 2;
}

static uint8_t *put_question(uint8_t *p, const Question *q) {
    p = put_name(p, q->name);
    p = put16(p, q->qtype);
    return put16(p, 1); /* IN */
}

static uint8_t *put_opt(uint8_t *p) {
    p = put8(p, 0);       /* root */
    p = put16(p, T_OPT);
    p = put16(p, 1232);   /* UDP payload size */
    p = put32(p, 0);      /* extended rcode, version, flags */
    return put16(p, 0);
}

static size_t build_query(uint8_t *buf, uint16_t id, const Question *q) {
    uint8_t *p = buf;
    p = put16(p, id);
    p = put16(p, 0x0100); /* RD */
    p = put16(p, 1);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put16(p, q->edns ? 1 : 0);
    p = put_question(p, q);
    if (q->edns) p = put_opt(p);
    return (size_t)(p - buf);
}

/* resource record header with owner = pointer to the question name */
static uint8_t *put_rr_head(uint8_t *p, uint16_t type, uint32_t ttl) {
    p = put16(p, 0xC00C);
    p = put16(p, type);
    p = put16(p, 1);
    return put32(p, ttl);
}

static uint8_t *put_soa(uint8_t *p, const Question *q) {
    uint16_t zone = suffix_offset(q->name, zone_labels(q->name));
    p = put16(p, (uint16_t)(0xC000 | zone));
    p = put16(p, T_SOA);
    p = put16(p, 1);
    p = put32(p, 30);
    uint8_t *rdlength = p;
    p += 2;
    uint8_t *rdata = p;
    p = put_name_then_pointer(p, "ns.dns", zone);
    p = put_name_then_pointer(p, "hostmaster", zone);
    p = put32(p, 1764100000); /* serial */
    p = put32(p, 7200);
    p = put32(p, 1800);
    p = put32(p, 86400);
    p = put32(p, 30);
    put16(rdlength, (uint16_t)(p - rdata));
    return p;
}

static size_t build_response(uint8_t *buf, uint16_t id, const Question *q, const Outcome *o) {
    uint64_t h = fnv1a(q->name);
    int internal = ends_with(q->name, "cluster.local") || ends_with(q->name, "in-addr.arpa");
    uint32_t ttl = internal ? 30 : (uint32_t)(60 + h % 240);
    uint16_t flags = 0x8000 | 0x0100 | 0x0080; /* QR RD RA */
    if (o->authoritative) flags |= 0x0400;
    if (o->truncated) flags |= 0x0200;
    flags |= o->rcode;

    uint8_t *p = buf + 12;
    p = put_question(p, q);
    uint16_t answers = 0, authority = 0;
    if (o->truncated) {
        /* empty TC=1 answer: question only */
    } else if (o->rcode == RC_NXDOMAIN || (o->rcode == RC_NOERROR && o->nodata)) {
        p = put_soa(p, q);
        authority = 1;
    } else if (o->rcode == RC_NOERROR) {
        switch (q->qtype) {
        case T_A: {
            int count = internal ? 1 : 1 + (int)(h % 4);
            for (int i = 0; i < count; i++) {
                p = put_rr_head(p, T_A, ttl);
                p = put16(p, 4);
                if (internal) {
                    p = put8(p, 10); p = put8(p, 96); p = put8(p, (uint8_t)(h >> 8)); p = put8(p, (uint8_t)(h >> 16 | 1));
                } else {
                    p = put8(p, (uint8_t)(13 + h % 180)); p = put8(p, (uint8_t)(h >> 24));
                    p = put8(p, (uint8_t)(h >> 32)); p = put8(p, (uint8_t)(1 + i + (h >> 40) % 200));
                }
                answers++;
            }
            break;
        }
        case T_AAAA: {
            int count = internal ? 1 : 1 + (int)(h % 2);
            for (int i = 0; i < count; i++) {
                p = put_rr_head(p, T_AAAA, ttl);
                p = put16(p, 16);
                uint8_t a[16] = {0x26, 0x06, 0x50, 0xc0, 0x80, 0x00};
                if (internal) { a[0] = 0xfd; a[1] = 0x00; a[2] = 0x00; a[3] = 0x10; a[4] = 0x00; a[5] = 0x96; }
                a[14] = (uint8_t)(h >> 8);
                a[15] = (uint8_t)(h + (uint64_t)i);
                memcpy(p, a, 16);
                p += 16;
                answers++;
            }
            break;
        }
        case T_PTR: {
            p = put_rr_head(p, T_PTR, ttl);
            uint8_t *rdlength = p;
            p += 2;
            uint8_t *rdata = p;
            char target[128];
            snprintf(target, sizeof target, "%s.%s.svc.cluster.local",
                     services[h % SERVICE_COUNT], namespaces[(h >> 8) % NAMESPACE_COUNT]);
            p = put_name(p, target);
            put16(rdlength, (uint16_t)(p - rdata));
            answers++;
            break;
        }
        case T_SRV: {
            p = put_rr_head(p, T_SRV, ttl);
            uint8_t *rdlength = p;
            p += 2;
            uint8_t *rdata = p;
            p = put16(p, 0);
            p = put16(p, 100);
            p = put16(p, (uint16_t)(strstr(q->name, "_dns") ? 53 : strstr(q->name, "_grpc") ? 9090 : 8080));
            /* target: the service name, i.e. the question without its first two labels */
            p = put_name_then_pointer(p, "", suffix_offset(q->name, 5));
            put16(rdlength, (uint16_t)(p - rdata));
            answers++;
            break;
        }
        case T_TXT: {
            static const char *texts[] = {
                "v=spf1 include:_spf.google.com include:sendgrid.net ~all",
                "google-site-verification=3Nj4kP0pZ8dWqYc1xV7bL2mT9sRfEeGhU5oAiKyQwXs",
                "v=1 env=prod region=eu-west-1",
                "MS=ms61820543",
            };
            int count = 1 + (int)(h % 3);
            for (int i = 0; i < count; i++) {
                const char *text = texts[(h + (uint64_t)i) % 4];
                size_t len = strlen(text);
                p = put_rr_head(p, T_TXT, ttl);
                p = put16(p, (uint16_t)(len + 1));
                p = put8(p, (uint8_t)len);
                memcpy(p, text, len);
                p += len;
                answers++;
            }
            break;
        }
        case T_MX: {
            int count = 1 + (int)(h % 2);
            for (int i = 0; i < count; i++) {
                p = put_rr_head(p, T_MX, ttl);
                uint8_t *rdlength = p;
                p += 2;
                uint8_t *rdata = p;
                p = put16(p, (uint16_t)(10 * (i + 1)));
                p = put_name_then_pointer(p, i ? "mx2" : "mx1", 12);
                put16(rdlength, (uint16_t)(p - rdata));
                answers++;
            }
            break;
        }
        default:
            die("no answer recipe for type %u", q->qtype);
        }
    }
    uint16_t additional = 0;
    if (q->edns) {
        p = put_opt(p);
        additional = 1;
    }
    uint8_t *h0 = buf;
    h0 = put16(h0, id);
    h0 = put16(h0, flags);
    h0 = put16(h0, 1);
    h0 = put16(h0, answers);
    h0 = put16(h0, authority);
    put16(h0, additional);
    return (size_t)(p - buf);
}

/* ------------------------------------------------------------------ */
/* Ethernet / IP / UDP / TCP */

typedef struct {
    uint8_t v6;
    uint8_t ip[16]; /* IPv4 in the first 4 bytes */
    uint8_t mac[6];
    /* DNS ids of a client: counter times an odd constant plus an offset, a permutation
     * of 0..65535, so ids look random but one client reuses an id only after 65536
     * queries. With purely random ids, a new query with the same id and question as an
     * unanswered one within the timeout is, rightly, taken for its retry by any analyser,
     * and the generator's counts would be off by those rare collisions. */
    uint16_t id_counter, id_offset;
} Host;

static uint16_t next_query_id(Host *client) {
    return (uint16_t)(client->id_counter++ * 40503u + client->id_offset);
}

static uint16_t ip_id_counter;

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum) {
    for (; n >= 2; p += 2, n -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
    if (n) sum += (uint32_t)(p[0] << 8);
    return sum;
}
static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };

typedef struct {
    uint32_t seq, ack;
    uint8_t flags;
} TCPInfo;

/* Builds one frame into OUT; PROTO 17 (UDP) or 6 (TCP, with TCP != NULL). */
static size_t build_frame(uint8_t *out, const Host *src, uint16_t sport, const Host *dst, uint16_t dport,
                          int proto, const TCPInfo *tcp, const uint8_t *payload, size_t plen) {
    uint8_t *p = out;
    memcpy(p, dst->mac, 6);
    memcpy(p + 6, src->mac, 6);
    p = put16(p + 12, src->v6 ? 0x86DD : 0x0800);

    size_t l4_header = proto == 17 ? 8 : (tcp->flags & TCP_SYN) ? 24 : 20;
    size_t l4_len = l4_header + plen;
    uint8_t *ip = p;
    size_t ip_header;
    if (!src->v6) {
        ip_header = 20;
        p = put8(p, 0x45);
        p = put8(p, 0);
        p = put16(p, (uint16_t)(ip_header + l4_len));
        p = put16(p, ip_id_counter++);
        p = put16(p, 0x4000); /* DF */
        p = put8(p, 64);
        p = put8(p, (uint8_t)proto);
        p = put16(p, 0);
        memcpy(p, src->ip, 4);
        memcpy(p + 4, dst->ip, 4);
        p += 8;
        put16(ip + 10, fold(sum16(ip, 20, 0)));
    } else {
        ip_header = 40;
        p = put32(p, 0x60000000);
        p = put16(p, (uint16_t)l4_len);
        p = put8(p, (uint8_t)proto);
        p = put8(p, 64);
        memcpy(p, src->ip, 16);
        memcpy(p + 16, dst->ip, 16);
        p += 32;
    }
    (void)ip_header;

    uint8_t *l4 = p;
    if (proto == 17) {
        p = put16(p, sport);
        p = put16(p, dport);
        p = put16(p, (uint16_t)l4_len);
        p = put16(p, 0);
    } else {
        p = put16(p, sport);
        p = put16(p, dport);
        p = put32(p, tcp->seq);
        p = put32(p, tcp->ack);
        p = put8(p, (uint8_t)((l4_header / 4) << 4));
        p = put8(p, tcp->flags);
        p = put16(p, 64240);
        p = put16(p, 0); /* checksum */
        p = put16(p, 0); /* urgent */
        if (tcp->flags & TCP_SYN) {
            p = put8(p, 2); /* MSS */
            p = put8(p, 4);
            p = put16(p, 1460);
        }
    }
    memcpy(p, payload, plen);
    p += plen;

    /* checksum over the pseudo-header and the segment */
    uint32_t sum = 0;
    if (!src->v6) {
        sum = sum16(src->ip, 4, sum);
        sum = sum16(dst->ip, 4, sum);
    } else {
        sum = sum16(src->ip, 16, sum);
        sum = sum16(dst->ip, 16, sum);
    }
    sum += (uint32_t)proto;
    sum += (uint32_t)l4_len;
    sum = sum16(l4, l4_len, sum);
    uint16_t checksum = fold(sum);
    if (proto == 17 && checksum == 0) checksum = 0xffff;
    put16(l4 + (proto == 17 ? 6 : 16), checksum);
    return (size_t)(p - out);
}

/* ------------------------------------------------------------------ */
/* packet queue (min-heap on time, then insertion order) */

typedef struct {
    uint64_t t;
    uint64_t order;
    uint8_t *data;
    uint32_t len;
} Packet;

static Packet *heap;
static size_t heap_count, heap_capacity;
static uint64_t heap_order;

static int packet_before(const Packet *a, const Packet *b) {
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void heap_push(uint64_t t, const uint8_t *frame, size_t len) {
    if (heap_count == heap_capacity) {
        heap_capacity = heap_capacity ? heap_capacity * 2 : 4096;
        heap = realloc(heap, heap_capacity * sizeof *heap);
        if (!heap) die("out of memory");
    }
    Packet packet = {t, heap_order++, xmalloc(len), (uint32_t)len};
    memcpy(packet.data, frame, len);
    size_t i = heap_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!packet_before(&packet, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = packet;
}

static Packet heap_pop(void) {
    Packet top = heap[0];
    Packet last = heap[--heap_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_count) break;
        if (child + 1 < heap_count && packet_before(&heap[child + 1], &heap[child])) child++;
        if (!packet_before(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    if (heap_count) heap[i] = last;
    return top;
}

/* ------------------------------------------------------------------ */
/* statistics (what a correct analysis should find) */

static struct {
    uint64_t packets, bytes, lookups;
    uint64_t transactions, attempts, answered, unanswered, retried, retried_answered;
    uint64_t rcode[16], truncated, tcp_transactions, udp_transactions;
    uint64_t ipv6_packets, tcp_packets;
    uint64_t type_count[256];
    uint64_t first_t, last_t;
} stats;

/* distinct names: open-addressing set of 64-bit hashes */
static uint64_t *name_set;
static size_t name_set_capacity = 1 << 16, name_set_count;

static void note_name(const char *name) {
    uint64_t h = fnv1a(name) | 1;
    size_t i = h & (name_set_capacity - 1);
    while (name_set[i]) {
        if (name_set[i] == h) return;
        i = (i + 1) & (name_set_capacity - 1);
    }
    name_set[i] = h;
    if (++name_set_count * 2 > name_set_capacity) {
        uint64_t *old = name_set;
        size_t old_capacity = name_set_capacity;
        name_set_capacity *= 2;
        name_set = calloc(name_set_capacity, sizeof *name_set);
        if (!name_set) die("out of memory");
        for (size_t j = 0; j < old_capacity; j++) {
            if (!old[j]) continue;
            size_t k = old[j] & (name_set_capacity - 1);
            while (name_set[k]) k = (k + 1) & (name_set_capacity - 1);
            name_set[k] = old[j];
        }
        free(old);
    }
}

/* ------------------------------------------------------------------ */
/* clients, servers */

#define CLIENT_COUNT 320

typedef struct {
    Host v4, v6;
    uint8_t dual_stack;
    uint32_t namespace_index;
} Client;

static Client clients[CLIENT_COUNT];
static Host server_cluster_ip, server_pod[2], server_cluster_ip6;

static void make_mac(uint8_t mac[6], uint32_t a, uint32_t b) {
    mac[0] = 0x02; mac[1] = 0x42; mac[2] = 0x0a; mac[3] = 0xf4;
    mac[4] = (uint8_t)a; mac[5] = (uint8_t)b;
}

static void set_v4(Host *h, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    memset(h, 0, sizeof *h);
    h->ip[0] = a; h->ip[1] = b; h->ip[2] = c; h->ip[3] = d;
    make_mac(h->mac, c, d);
}

static void set_v6(Host *h, const uint8_t ip[16], const uint8_t mac[6]) {
    memset(h, 0, sizeof *h);
    h->v6 = 1;
    memcpy(h->ip, ip, 16);
    memcpy(h->mac, mac, 6);
}

static void setup_hosts(void) {
    uint8_t used[9][256];
    memset(used, 0, sizeof used);
    for (int i = 0; i < CLIENT_COUNT; i++) {
        uint8_t x, y;
        do {
            x = (uint8_t)(1 + rnd_below(8));
            y = (uint8_t)(2 + rnd_below(252));
        } while (used[x][y]);
        used[x][y] = 1;
        Client *c = &clients[i];
        set_v4(&c->v4, 10, 244, x, y);
        c->dual_stack = chance(0.05);
        uint8_t ip6[16] = {0xfd, 0x00, 0x00, 0x10, 0x02, 0x44, 0x00, x, 0, 0, 0, 0, 0, 0, 0, y};
        set_v6(&c->v6, ip6, c->v4.mac);
        c->v4.id_offset = (uint16_t)rnd64();
        c->v6.id_offset = (uint16_t)rnd64();
        c->namespace_index = rnd_skewed(NAMESPACE_COUNT, 1.6);
    }
    set_v4(&server_cluster_ip, 10, 96, 0, 10);
    /* the ClusterIP is answered through the node: gateway MAC */
    make_mac(server_cluster_ip.mac, 1, 1);
    set_v4(&server_pod[0], 10, 244, 0, 53);
    set_v4(&server_pod[1], 10, 244, 0, 54);
    uint8_t ip6[16] = {0xfd, 0x00, 0x00, 0x10, 0x00, 0x96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
    set_v6(&server_cluster_ip6, ip6, server_cluster_ip.mac);
}

/* ------------------------------------------------------------------ */
/* emitting transactions */

static uint8_t frame_buffer[2048];
static uint8_t message_buffer[1500];
static uint8_t response_buffer[1500];

static uint16_t ephemeral_port(void) { return (uint16_t)rnd_range(32768, 60999); }

static void emit_udp(uint64_t t, const Host *src, uint16_t sport, const Host *dst, uint16_t dport,
                     const uint8_t *msg, size_t len) {
    size_t n = build_frame(frame_buffer, src, sport, dst, dport, 17, NULL, msg, len);
    heap_push(t, frame_buffer, n);
}

static void emit_tcp(uint64_t t, const Host *src, uint16_t sport, const Host *dst, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *msg, size_t len) {
    TCPInfo tcp = {seq, ack, flags};
    uint8_t framed[1600];
    size_t plen = 0;
    if (len) {
        put16(framed, (uint16_t)len); /* RFC 1035 §4.2.2: 2-byte length prefix */
        memcpy(framed + 2, msg, len);
        plen = len + 2;
    }
    size_t n = build_frame(frame_buffer, src, sport, dst, dport, 6, &tcp, framed, plen);
    heap_push(t, frame_buffer, n);
}

static const double drop_probability = 0.013;
static const double retry_probability = 0.5;
static const double retry_answered_probability = 0.6;
static const uint64_t client_timeout = 5 * NS_PER_S;

/* One UDP query (and its retry, response): returns when the client is done with it. */
static uint64_t udp_transaction(uint64_t t, Host *client, uint16_t port, const Host *server,
                                const Question *q, const Outcome *o, uint64_t latency) {
    uint16_t id = next_query_id(client);
    size_t qlen = build_query(message_buffer, id, q);
    size_t rlen = build_response(response_buffer, id, q, o);
    note_name(q->name);
    stats.transactions++;
    stats.udp_transactions++;
    stats.type_count[q->qtype & 0xff]++;
    stats.attempts++;
    emit_udp(t, client, port, server, 53, message_buffer, qlen);
    if (!chance(drop_probability)) {
        emit_udp(t + latency, server, 53, client, port, response_buffer, rlen);
        stats.answered++;
        stats.rcode[o->rcode]++;
        if (o->truncated) stats.truncated++;
        return t + latency;
    }
    if (chance(retry_probability)) {
        uint64_t retry_at = t + rnd_range(1 * NS_PER_S, 4 * NS_PER_S);
        uint16_t new_port = ephemeral_port();
        stats.retried++;
        stats.attempts++;
        emit_udp(retry_at, client, new_port, server, 53, message_buffer, qlen);
        if (chance(retry_answered_probability)) {
            emit_udp(retry_at + latency, server, 53, client, new_port, response_buffer, rlen);
            stats.answered++;
            stats.retried_answered++;
            stats.rcode[o->rcode]++;
            if (o->truncated) stats.truncated++;
            return retry_at + latency;
        }
        stats.unanswered++;
        return retry_at + client_timeout;
    }
    stats.unanswered++;
    return t + client_timeout;
}

/* One query over TCP: handshake, length-framed query and response, FIN both ways. */
static uint64_t tcp_transaction(uint64_t t, Host *client, const Host *server, const Question *q,
                                const Outcome *o, uint64_t latency) {
    uint16_t port = ephemeral_port();
    uint16_t id = next_query_id(client);
    Question tq = *q;
    tq.edns = 0;
    size_t qlen = build_query(message_buffer, id, &tq);
    Outcome to = *o;
    to.truncated = 0;
    size_t rlen = build_response(response_buffer, id, &tq, &to);
    uint32_t cseq = (uint32_t)rnd64(), sseq = (uint32_t)rnd64();
    uint64_t rtt = rnd_range(40 * NS_PER_US, 250 * NS_PER_US);
    note_name(q->name);
    stats.transactions++;
    stats.tcp_transactions++;
    stats.type_count[q->qtype & 0xff]++;
    stats.attempts++;
    stats.answered++;
    stats.rcode[o->rcode]++;

    emit_tcp(t, client, port, server, 53, cseq, 0, TCP_SYN, NULL, 0);
    t += rtt;
    emit_tcp(t, server, 53, client, port, sseq, cseq + 1, TCP_SYN | TCP_ACK, NULL, 0);
    t += rnd_range(5, 30) * NS_PER_US;
    cseq++;
    sseq++;
    emit_tcp(t, client, port, server, 53, cseq, sseq, TCP_ACK, NULL, 0);
    t += rnd_range(5, 30) * NS_PER_US;
    emit_tcp(t, client, port, server, 53, cseq, sseq, TCP_PSH | TCP_ACK, message_buffer, qlen);
    cseq += (uint32_t)qlen + 2;
    t += latency;
    emit_tcp(t, server, 53, client, port, sseq, cseq, TCP_PSH | TCP_ACK, response_buffer, rlen);
    sseq += (uint32_t)rlen + 2;
    uint64_t done = t;
    t += rnd_range(20, 80) * NS_PER_US;
    emit_tcp(t, client, port, server, 53, cseq, sseq, TCP_ACK, NULL, 0);
    t += rnd_range(5, 30) * NS_PER_US;
    emit_tcp(t, client, port, server, 53, cseq, sseq, TCP_FIN | TCP_ACK, NULL, 0);
    cseq++;
    t += rtt;
    emit_tcp(t, server, 53, client, port, sseq, cseq, TCP_FIN | TCP_ACK, NULL, 0);
    sseq++;
    t += rnd_range(5, 30) * NS_PER_US;
    emit_tcp(t, client, port, server, 53, cseq, sseq, TCP_ACK, NULL, 0);
    return done;
}

/* ------------------------------------------------------------------ */
/* lookups */

#define MAX_STEPS 4

typedef struct {
    char name[256];
    Outcome outcome[2];  /* per type */
    uint16_t types[2];
    int type_count;
    int external;        /* latency class */
} Step;

static void step_set(Step *s, const char *name, int external) {
    snprintf(s->name, sizeof s->name, "%s", name);
    s->external = external;
    s->type_count = 0;
}

static void step_add(Step *s, uint16_t type, uint8_t rcode, uint8_t nodata) {
    Outcome o = {rcode, nodata, 0, 0};
    const char *n = s->name;
    o.authoritative = ends_with(n, "cluster.local") || ends_with(n, "in-addr.arpa");
    s->types[s->type_count] = type;
    s->outcome[s->type_count] = o;
    s->type_count++;
}

/* A (and usually AAAA, as getaddrinfo does) for NAME with RCODE */
static void step_address(Step *s, const char *name, int external, uint8_t rcode) {
    step_set(s, name, external);
    step_add(s, T_A, rcode, 0);
    if (chance(0.75)) {
        /* cluster services have no AAAA in an IPv4 cluster; some external names neither */
        int nodata = rcode == RC_NOERROR && (!external || (fnv1a(name) % 4 == 0));
        step_add(s, T_AAAA, rcode, (uint8_t)nodata);
    }
}

static uint64_t lookup(uint64_t t0) {
    Client *c = &clients[rnd_skewed(CLIENT_COUNT, 2.0)];
    const char *ns = namespaces[c->namespace_index];
    int ipv6 = c->dual_stack && chance(0.5);
    Host *client = ipv6 ? &c->v6 : &c->v4;
    const Host *server;
    if (ipv6) server = &server_cluster_ip6;
    else {
        double u = rnd01();
        server = u < 0.8 ? &server_cluster_ip : u < 0.9 ? &server_pod[0] : &server_pod[1];
    }

    Step steps[MAX_STEPS];
    int step_count = 0;
    char name[256];
    double kind = rnd01();
    uint32_t svc = rnd_skewed(SERVICE_COUNT, 1.8);
    uint32_t other_ns = rnd_skewed(NAMESPACE_COUNT, 1.3);

    if (kind < 0.44) {
        /* short name in the pod's namespace: first search suffix hits (or NXDOMAIN) */
        snprintf(name, sizeof name, "%s.%s.svc.cluster.local", services[svc], ns);
        step_address(&steps[step_count++], name, 0,
                     service_exists(svc, c->namespace_index) || chance(0.92) ? RC_NOERROR : RC_NXDOMAIN);
    } else if (kind < 0.685) {
        /* service FQDN */
        snprintf(name, sizeof name, "%s.%s.svc.cluster.local", services[svc], namespaces[other_ns]);
        step_address(&steps[step_count++], name, 0, RC_NOERROR);
    } else if (kind < 0.75) {
        /* svc.other-namespace: one NXDOMAIN (pod's namespace suffix), then found */
        snprintf(name, sizeof name, "%s.%s.%s.svc.cluster.local", services[svc], namespaces[other_ns], ns);
        step_address(&steps[step_count++], name, 0, RC_NXDOMAIN);
        snprintf(name, sizeof name, "%s.%s.svc.cluster.local", services[svc], namespaces[other_ns]);
        step_address(&steps[step_count++], name, 0, RC_NOERROR);
    } else if (kind < 0.795) {
        /* external name with fewer than 5 dots: the whole search path first (ndots:5) */
        const char *ext = external_names[rnd_skewed(EXTERNAL_COUNT, 1.7)];
        snprintf(name, sizeof name, "%s.%s.svc.cluster.local", ext, ns);
        step_address(&steps[step_count++], name, 0, RC_NXDOMAIN);
        snprintf(name, sizeof name, "%s.svc.cluster.local", ext);
        step_address(&steps[step_count++], name, 0, RC_NXDOMAIN);
        snprintf(name, sizeof name, "%s.cluster.local", ext);
        step_address(&steps[step_count++], name, 0, RC_NXDOMAIN);
        step_address(&steps[step_count++], ext, 1, chance(0.04) ? RC_SERVFAIL : RC_NOERROR);
    } else if (kind < 0.89) {
        /* external FQDN (trailing dot in the application, or ndots:1 images) */
        const char *ext = external_names[rnd_skewed(EXTERNAL_COUNT, 1.7)];
        step_address(&steps[step_count++], ext, 1, chance(0.02) ? RC_SERVFAIL : RC_NOERROR);
    } else if (kind < 0.905) {
        /* a name that does not exist */
        snprintf(name, sizeof name, "%s-old.%s.svc.cluster.local", services[svc], namespaces[other_ns]);
        step_address(&steps[step_count++], name, 0, RC_NXDOMAIN);
    } else if (kind < 0.95) {
        /* reverse lookup of a pod address */
        const Client *peer = &clients[rnd_skewed(CLIENT_COUNT, 1.5)];
        snprintf(name, sizeof name, "%u.%u.244.10.in-addr.arpa", peer->v4.ip[3], peer->v4.ip[2]);
        step_set(&steps[step_count], name, 0);
        step_add(&steps[step_count++], T_PTR, chance(0.7) ? RC_NOERROR : RC_NXDOMAIN, 0);
    } else if (kind < 0.975) {
        snprintf(name, sizeof name, "%s.%s.%s.svc.cluster.local", srv_prefixes[rnd_below(SRV_PREFIX_COUNT)],
                 services[svc], namespaces[other_ns]);
        step_set(&steps[step_count], name, 0);
        step_add(&steps[step_count++], T_SRV, service_exists(svc, other_ns) ? RC_NOERROR : RC_NXDOMAIN, 0);
    } else if (kind < 0.99) {
        if (chance(0.5)) snprintf(name, sizeof name, "_config.%s.%s.svc.cluster.local", services[svc], namespaces[other_ns]);
        else snprintf(name, sizeof name, "%s", mail_domains[rnd_below(MAIL_DOMAIN_COUNT)]);
        step_set(&steps[step_count], name, !ends_with(name, "cluster.local"));
        step_add(&steps[step_count++], T_TXT, RC_NOERROR, 0);
    } else {
        step_set(&steps[step_count], mail_domains[rnd_below(MAIL_DOMAIN_COUNT)], 1);
        step_add(&steps[step_count++], T_MX, RC_NOERROR, 0);
    }

    int edns = chance(0.3);
    int tcp = chance(0.004);
    int tc_first = !tcp && chance(0.002);
    stats.lookups++;

    uint64_t t = t0;
    for (int s = 0; s < step_count; s++) {
        Step *step = &steps[s];
        uint16_t port = ephemeral_port();
        uint64_t step_end = t;
        for (int k = 0; k < step->type_count; k++) {
            Question q;
            memcpy(q.name, step->name, sizeof q.name);
            q.qtype = step->types[k];
            q.edns = (uint8_t)edns;
            const Outcome *o = &step->outcome[k];
            uint64_t latency = step->external && s == step_count - 1
                ? latency_ns(8000, 0.9, 1000, 50000)
                : latency_ns(300, 0.7, 100, 5000);
            uint64_t tq = t + (k ? rnd_range(15, 120) * NS_PER_US : 0);
            uint64_t end;
            if (tcp) {
                end = tcp_transaction(tq, client, server, &q, o, latency);
            } else if (tc_first && o->rcode == RC_NOERROR) {
                /* UDP first, answered with TC=1 and no records; the client retries over TCP
                 * with a new id (RFC 7766 §5) */
                Outcome truncated = *o;
                truncated.truncated = 1;
                end = udp_transaction(tq, client, port, server, &q, &truncated, latency);
                end = tcp_transaction(end + rnd_range(20, 100) * NS_PER_US, client, server, &q, o, latency);
            } else {
                end = udp_transaction(tq, client, port, server, &q, o, latency);
            }
            if (end > step_end) step_end = end;
        }
        t = step_end + rnd_range(20, 300) * NS_PER_US;
    }
    return t;
}

/* ------------------------------------------------------------------ */
/* pcap files */

struct pcap_file_header {
    uint32_t magic;
    uint16_t version_major, version_minor;
    int32_t thiszone;
    uint32_t sigfigs, snaplen, linktype;
};

static void write_file_header(FILE *out) {
    struct pcap_file_header h = {0xa1b2c3d4, 2, 4, 0, 0, 262144, 1 /* EN10MB */};
    if (fwrite(&h, sizeof h, 1, out) != 1) die("write: %s", strerror(errno));
}

static void write_record(FILE *out, uint64_t t, const uint8_t *data, uint32_t len) {
    uint32_t r[4] = {(uint32_t)(t / NS_PER_S), (uint32_t)((t % NS_PER_S) / NS_PER_US), len, len};
    if (fwrite(r, sizeof r, 1, out) != 1 || fwrite(data, len, 1, out) != 1) die("write: %s", strerror(errno));
}

static const uint64_t start_time = 1795687200ULL * NS_PER_S; /* 2026-11-26T10:00:00Z */

static int generate(uint64_t target_packets, const char *path, const char *stats_path, double lookups_per_second) {
    FILE *out = fopen(path, "wb");
    if (!out) die("%s: %s", path, strerror(errno));
    setvbuf(out, NULL, _IOFBF, 1 << 22);
    write_file_header(out);
    name_set = calloc(name_set_capacity, sizeof *name_set);
    setup_hosts();

    uint64_t next_lookup = start_time;
    double mean_gap_ns = 1e9 / lookups_per_second;
    int generating = 1;
    while (generating || heap_count) {
        if (generating && (heap_count == 0 || heap[0].t > next_lookup)) {
            lookup(next_lookup);
            double u = rnd01();
            if (u < 1e-12) u = 1e-12;
            next_lookup += (uint64_t)(-log(u) * mean_gap_ns) + 1;
            continue;
        }
        Packet p = heap_pop();
        write_record(out, p.t, p.data, p.len);
        if (!stats.packets) stats.first_t = p.t;
        stats.last_t = p.t;
        stats.packets++;
        stats.bytes += p.len;
        if (p.data[12] == 0x86 && p.data[13] == 0xDD) stats.ipv6_packets++;
        if (p.data[12] == 0x08 ? p.data[23] == 6 : p.data[20] == 6) stats.tcp_packets++;
        free(p.data);
        if (stats.packets + heap_count >= target_packets) generating = 0;
    }
    if (fclose(out) != 0) die("%s: %s", path, strerror(errno));

    FILE *s = stats_path ? fopen(stats_path, "w") : stderr;
    if (!s) die("%s: %s", stats_path, strerror(errno));
    double seconds = (double)(stats.last_t - stats.first_t) / 1e9;
    uint64_t answered = stats.answered ? stats.answered : 1;
    fprintf(s, "packets %" PRIu64 "\n", stats.packets);
    fprintf(s, "bytes %" PRIu64 "\n", stats.bytes);
    fprintf(s, "seconds %.3f\n", seconds);
    fprintf(s, "lookups %" PRIu64 "\n", stats.lookups);
    fprintf(s, "transactions %" PRIu64 "\n", stats.transactions);
    fprintf(s, "udp_transactions %" PRIu64 "\n", stats.udp_transactions);
    fprintf(s, "tcp_transactions %" PRIu64 "\n", stats.tcp_transactions);
    fprintf(s, "attempts %" PRIu64 "\n", stats.attempts);
    fprintf(s, "answered %" PRIu64 "\n", stats.answered);
    fprintf(s, "unanswered %" PRIu64 " (%.2f %%)\n", stats.unanswered, 100.0 * stats.unanswered / stats.transactions);
    fprintf(s, "retried %" PRIu64 " (answered after retry %" PRIu64 ")\n", stats.retried, stats.retried_answered);
    fprintf(s, "truncated %" PRIu64 "\n", stats.truncated);
    fprintf(s, "rcode NOERROR %" PRIu64 " (%.1f %%) NXDOMAIN %" PRIu64 " (%.1f %%) SERVFAIL %" PRIu64 " (%.2f %%)\n",
            stats.rcode[0], 100.0 * stats.rcode[0] / answered, stats.rcode[3], 100.0 * stats.rcode[3] / answered,
            stats.rcode[2], 100.0 * stats.rcode[2] / answered);
    fprintf(s, "types A %" PRIu64 " AAAA %" PRIu64 " PTR %" PRIu64 " SRV %" PRIu64 " TXT %" PRIu64 " MX %" PRIu64 "\n",
            stats.type_count[T_A], stats.type_count[T_AAAA], stats.type_count[T_PTR], stats.type_count[T_SRV],
            stats.type_count[T_TXT], stats.type_count[T_MX]);
    fprintf(s, "distinct_names %zu\n", name_set_count);
    fprintf(s, "ipv6_packets %" PRIu64 " (%.1f %%)\n", stats.ipv6_packets, 100.0 * stats.ipv6_packets / stats.packets);
    fprintf(s, "tcp_packets %" PRIu64 "\n", stats.tcp_packets);
    fprintf(s, "clients %d servers 10.96.0.10 10.244.0.53 10.244.0.54 fd00:10:96::a\n", CLIENT_COUNT);
    if (stats_path) fclose(s);
    return 0;
}

/* ------------------------------------------------------------------ */
/* --repeat: N copies of a (microsecond, native byte order) capture, each
 * shifted past the end of the previous one plus GAP seconds, so the result
 * stays time ordered and no transaction spans two copies */

static int repeat(const char *in_path, const char *out_path, int copies, double gap_seconds) {
    FILE *in = fopen(in_path, "rb");
    if (!in) die("%s: %s", in_path, strerror(errno));
    setvbuf(in, NULL, _IOFBF, 1 << 22);
    struct pcap_file_header h;
    if (fread(&h, sizeof h, 1, in) != 1) die("%s: no pcap header", in_path);
    if (h.magic != 0xa1b2c3d4) die("%s: only native-order microsecond pcap is supported", in_path);

    /* first pass: the time span */
    uint32_t r[4];
    uint64_t first = 0, last = 0, count = 0;
    static uint8_t data[262144 + 16];
    while (fread(r, sizeof r, 1, in) == 1) {
        if (r[2] > 262144) die("%s: record too large", in_path);
        if (fseek(in, r[2], SEEK_CUR) != 0) die("%s: %s", in_path, strerror(errno));
        uint64_t t = (uint64_t)r[0] * 1000000ULL + r[1];
        if (!count) first = t;
        last = t;
        count++;
    }
    uint64_t shift_us = (last - first) + (uint64_t)(gap_seconds * 1e6);

    FILE *out = fopen(out_path, "wb");
    if (!out) die("%s: %s", out_path, strerror(errno));
    setvbuf(out, NULL, _IOFBF, 1 << 22);
    if (fwrite(&h, sizeof h, 1, out) != 1) die("write: %s", strerror(errno));
    for (int k = 0; k < copies; k++) {
        if (fseek(in, sizeof h, SEEK_SET) != 0) die("%s: %s", in_path, strerror(errno));
        uint64_t shift = (uint64_t)k * shift_us;
        while (fread(r, sizeof r, 1, in) == 1) {
            if (fread(data, r[2], 1, in) != 1) die("%s: cut record", in_path);
            uint64_t t = (uint64_t)r[0] * 1000000ULL + r[1] + shift;
            r[0] = (uint32_t)(t / 1000000ULL);
            r[1] = (uint32_t)(t % 1000000ULL);
            if (fwrite(r, sizeof r, 1, out) != 1 || fwrite(data, r[2], 1, out) != 1) die("write: %s", strerror(errno));
        }
    }
    if (fclose(out) != 0) die("%s: %s", out_path, strerror(errno));
    fclose(in);
    fprintf(stderr, "dnsgen: %d copies of %" PRIu64 " packets (%.1f s each, %.1f s apart) -> %s\n", copies, count,
            (double)(last - first) / 1e6, (double)shift_us / 1e6, out_path);
    return 0;
}

int main(int argc, char **argv) {
    uint64_t packets = 0;
    const char *out = NULL, *in = NULL, *stats_path = NULL;
    uint64_t seed = 20261126;
    double lookups_per_second = 10000, gap = 10;
    int copies = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE() do { if (!v) die("%s needs a value", a); i++; } while (0)
        if (!strcmp(a, "-n")) { NEED_VALUE(); packets = strtoull(v, NULL, 10); }
        else if (!strcmp(a, "-o")) { NEED_VALUE(); out = v; }
        else if (!strcmp(a, "-i")) { NEED_VALUE(); in = v; }
        else if (!strcmp(a, "-s")) { NEED_VALUE(); seed = strtoull(v, NULL, 10); }
        else if (!strcmp(a, "-r")) { NEED_VALUE(); lookups_per_second = atof(v); }
        else if (!strcmp(a, "--stats")) { NEED_VALUE(); stats_path = v; }
        else if (!strcmp(a, "--repeat")) { NEED_VALUE(); copies = atoi(v); }
        else if (!strcmp(a, "--gap")) { NEED_VALUE(); gap = atof(v); }
        else die("usage: dnsgen -n PACKETS -o OUT [-s SEED] [-r LOOKUPS/S] [--stats FILE] | --repeat N -i IN -o OUT [--gap S]");
    }
    if (!out) die("-o OUT is required");
    rng_state = seed;
    if (copies) {
        if (!in) die("--repeat needs -i IN");
        return repeat(in, out, copies, gap);
    }
    if (!packets) die("-n PACKETS is required");
    if (lookups_per_second <= 0) die("-r must be positive");
    return generate(packets, out, stats_path, lookups_per_second);
}
