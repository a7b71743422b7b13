-- dnstrail's transactions in ClickHouse: one row per line of `dnstrail live --format ndjson`.
-- Column names are the NDJSON field names (nested objects are named Tuples: client.ip,
-- server.port, fallback.outcome...), so a Vector or Fluent Bit pipeline inserts the parsed
-- JSON with format JSONEachRow as it is; the one field it adds is `node`, the node the line
-- came from (the DaemonSet's NODE_NAME). Fields absent from a line (fallback, icmp, backend,
-- ...) take their defaults: an empty string address, 0, an empty array.
--
-- Addresses are String, in dnstrail's text form (IPv4 dotted, IPv6 RFC 5952), the same text
-- as the reports and Prometheus' `server` label, so the three join without conversion;
-- CIDR filters work on it: isIPAddressInRange(client.ip, '10.244.0.0/16'). IPv6 for both
-- families would print IPv4 as ::ffff:a.b.c.d and break those joins.
CREATE TABLE IF NOT EXISTS dnstrail_transactions
(
    -- Added by the pipeline: the node whose dnstrail saw the transaction.
    node           LowCardinality(String),
    -- First attempt, nanoseconds, UTC (the capture's clock).
    time           DateTime64(9, 'UTC'),
    -- pod, namespace, node: present when dnstrail knows the pod (--pods, later --kubernetes).
    client         Tuple(ip String, port UInt16, pod Nullable(String), namespace Nullable(String), node Nullable(String)),
    server         Tuple(ip LowCardinality(String), port UInt16),
    transport      LowCardinality(String),
    id             UInt16,
    qname          Nullable(String),
    qtype          LowCardinality(Nullable(String)),
    qclass         LowCardinality(Nullable(String)),
    opcode         LowCardinality(String),
    -- answered, late, unanswered, rejected, handshake_failed, reset, in_flight, multicast.
    outcome        LowCardinality(String),
    rcode          LowCardinality(Nullable(String)),
    query_frames   Array(UInt64),
    attempts       UInt32,
    response_frame Nullable(UInt64),
    answered_frame Nullable(UInt64),
    latency_ms     Nullable(Float64),
    truncated      Bool,
    -- timeout, capture-end, evicted, or null.
    expired        LowCardinality(Nullable(String)),
    fallback       Tuple(outcome LowCardinality(String), transport LowCardinality(String), client_port UInt16,
                         id Nullable(UInt16), frames Array(UInt64), attempts UInt32,
                         response_frame Nullable(UInt64), rcode LowCardinality(Nullable(String)),
                         reset_frame Nullable(UInt64)),
    icmp           Tuple(frame UInt64, type UInt8, code UInt8, reason LowCardinality(String), from String),
    vlan           Array(UInt16),
    answered_from  Tuple(ip String, port UInt16),
    backend        Tuple(ip String, port UInt16),
    seen_on        Array(Int32),
    underlay       Tuple(encapsulation LowCardinality(String), source String, destination String, id Nullable(UInt32)),
    `interface`    Nullable(Int32)
)
ENGINE = MergeTree
-- One partition per day and node: a node's day is dropped or re-loaded on its own. At a few
-- hundred nodes and 30 days that is thousands of partitions, ClickHouse's comfortable limit:
-- beyond, partition by (toDate(time), cityHash64(node) % 64) instead.
PARTITION BY (toDate(time), node)
-- "Which pods failed against which server": node, then server, then outcome narrow the
-- granules read; client and time keep one source's failures together and in order.
ORDER BY (node, server.ip, outcome, client.ip, time)
TTL toDateTime(time) + INTERVAL 30 DAY;
