-- Incident queries over dnstrail_transactions (transactions.sql). Each is named by its
-- `-- name:` line (scripts/deploy-test runs them by name against the bundled captures'
-- NDJSON and compares them with dnstrail's own JSON reports). Parameters, as for
-- clickhouse-client --param_from='2026-11-26 00:00:00' --param_to='2026-11-27 00:00:00':
--   {from:DateTime64(9)}, {to:DateTime64(9)}: the incident's time window (UTC).
-- A failed query is one the client got no answer to: unanswered, late (answered after the
-- client's deadline, so also failed for it), rejected (ICMP), or a TCP connection that failed.
--
-- `dnstrail live` writes an unanswered query at its deadline and, if a late answer comes
-- within 30 s, a second line for the same transaction (same time, client, id) with outcome
-- late. Every query therefore drops an `unanswered` row that a `late` row superseded (the
-- NOT IN below: late answers are rare, so the subquery is small). `analyze` writes one line
-- per transaction, and the clause then removes nothing.

-- name: top_unanswered_sources
-- Which sources failed against which server, per node (the report's "Unanswered queries
-- by source": queries and attempts exclude late answers, as the report does).
SELECT
    node,
    client.ip AS client_ip,
    any(client.namespace) AS namespace,
    any(client.pod) AS pod,
    server.ip AS server_ip,
    server.port AS server_port,
    transport,
    count() AS failed_queries,
    sum(attempts) AS attempts,
    countIf(outcome = 'rejected') AS rejected,
    min(time) AS first,
    max(time) AS last
FROM dnstrail_transactions
WHERE time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}
  AND NOT (outcome = 'unanswered' AND (node, time, client.ip, client.port, id) IN (
      SELECT node, time, client.ip, client.port, id FROM dnstrail_transactions
      WHERE outcome = 'late' AND time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}))
  AND outcome IN ('unanswered', 'rejected', 'handshake_failed', 'reset')
GROUP BY node, client_ip, server_ip, server_port, transport
ORDER BY failed_queries DESC, node, client_ip, server_ip, server_port, transport
LIMIT 100;

-- name: servers
-- Every server per node: the report's server table (multicast is not a server).
SELECT
    node,
    server.ip AS server_ip,
    server.port AS server_port,
    transport,
    countIf(outcome NOT IN ('handshake_failed', 'reset')) AS queries,
    countIf(outcome = 'answered') AS answered,
    countIf(outcome = 'late') AS late,
    countIf(outcome = 'unanswered') AS unanswered,
    countIf(outcome = 'rejected') AS rejected,
    countIf(outcome = 'in_flight') AS in_flight,
    quantileExactIf(0.5)(latency_ms, outcome = 'answered') AS p50_ms
FROM dnstrail_transactions
WHERE time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}
  AND NOT (outcome = 'unanswered' AND (node, time, client.ip, client.port, id) IN (
      SELECT node, time, client.ip, client.port, id FROM dnstrail_transactions
      WHERE outcome = 'late' AND time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}))
  AND outcome != 'multicast'
GROUP BY node, server_ip, server_port, transport
ORDER BY node, server_ip, server_port, transport;

-- name: failures_over_time
-- Failed queries per minute and server, all nodes together: when did it start, is it over?
SELECT
    toStartOfMinute(time) AS minute,
    server.ip AS server_ip,
    transport,
    countIf(outcome IN ('unanswered', 'late', 'rejected', 'handshake_failed', 'reset')) AS failed,
    count() AS queries,
    uniqExactIf(client.ip, outcome IN ('unanswered', 'late', 'rejected', 'handshake_failed', 'reset')) AS failing_sources
FROM dnstrail_transactions
WHERE time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}
  AND NOT (outcome = 'unanswered' AND (node, time, client.ip, client.port, id) IN (
      SELECT node, time, client.ip, client.port, id FROM dnstrail_transactions
      WHERE outcome = 'late' AND time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}))
GROUP BY minute, server_ip, transport
ORDER BY minute, server_ip, transport;

-- name: lost_per_leg
-- Lookups lost on each leg, per node: a leg is one hop a lookup takes, pod → Service
-- address (→ the DNAT'ed backend that was reached, when dnstrail saw it), or node cache →
-- upstream, told apart by its server address, port and transport. A leg with losses next to
-- a healthy one on the same node says where the path breaks.
SELECT
    node,
    server.ip AS server_ip,
    server.port AS server_port,
    transport,
    backend.ip AS backend_ip,
    countIf(outcome IN ('unanswered', 'rejected')) AS lost,
    countIf(outcome IN ('answered', 'late')) AS answered,
    countIf(fallback.outcome NOT IN ('', 'answered')) AS lost_tcp_fallbacks
FROM dnstrail_transactions
WHERE time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}
  AND NOT (outcome = 'unanswered' AND (node, time, client.ip, client.port, id) IN (
      SELECT node, time, client.ip, client.port, id FROM dnstrail_transactions
      WHERE outcome = 'late' AND time >= {from:DateTime64(9)} AND time < {to:DateTime64(9)}))
  AND outcome != 'multicast'
GROUP BY node, server_ip, server_port, transport, backend_ip
ORDER BY node, lost DESC, server_ip, server_port, transport, backend_ip;
