"""chDB check of deploy/clickhouse: the NDJSON of bundled captures, one capture per node,
loaded into the DDL of transactions.sql; the named queries of queries.sql must give the
figures of dnstrail's own JSON report of each capture.

Usage: deploy_clickhouse_check.py DNSTRAIL CAPTURE... (the node of a capture is its file
name without .pcap). Prints PASS/FAIL lines; exit status 1 on any failure."""
import collections
import json
import pathlib
import re
import subprocess
import sys

from chdb import session

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAILED_OUTCOMES = ("unanswered", "rejected", "handshake_failed", "reset")
failures = 0


def check(name, expected, actual, expected_is="report", actual_is="ClickHouse"):
    """One PASS or FAIL line; a FAIL shows the first differences."""
    global failures
    if expected == actual:
        print(f"PASS {name}")
        return
    failures += 1
    print(f"FAIL {name}")
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str)[:50]:
            if expected.get(key) != actual.get(key):
                print(f"     {key}: {expected_is} {expected.get(key)!r}, {actual_is} {actual.get(key)!r}")
    else:
        print(f"     {expected_is} {expected!r}\n     {actual_is} {actual!r}")


def named_queries(text):
    """`-- name: X` blocks of queries.sql, each up to its terminating semicolon."""
    queries = {}
    for block in re.split(r"^-- name: ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        queries[name.strip()] = body.strip().rstrip(";")
    return queries


def run(sql_session, sql, params):
    """Rows of a query as dicts (JSONEachRow)."""
    out = sql_session.query(sql, "JSONEachRow", params=params).bytes().decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def dnstrail(binary, capture, fmt):
    result = subprocess.run([binary, "analyze", str(capture), "--format", fmt],
                            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 3):
        raise SystemExit(f"FAIL dnstrail analyze {capture} --format {fmt}: exit {result.returncode}: {result.stderr}")
    return result.stdout


def main():
    binary, captures = sys.argv[1], [pathlib.Path(path) for path in sys.argv[2:]]
    sql_session = session.Session()
    sql_session.query("CREATE DATABASE IF NOT EXISTS dnstrail ENGINE = Atomic")
    sql_session.query("USE dnstrail")
    ddl = (ROOT / "deploy/clickhouse/transactions.sql").read_text()
    sql_session.query(ddl)
    queries = named_queries((ROOT / "deploy/clickhouse/queries.sql").read_text())
    check("queries.sql has the four incident queries",
          ["failures_over_time", "lost_per_leg", "servers", "top_unanswered_sources"], sorted(queries))

    reports, lines_per_node = {}, {}
    for capture in captures:
        node = capture.name.removesuffix(".pcap")
        reports[node] = json.loads(dnstrail(binary, capture, "json"))
        lines = [line for line in dnstrail(binary, capture, "ndjson").splitlines() if line]
        lines_per_node[node] = len(lines)
        # The pipeline's one addition: the node the line came from, as its first field.
        rows = "\n".join('{"node":' + json.dumps(node) + "," + line[1:] for line in lines)
        if rows:
            sql_session.query("INSERT INTO dnstrail_transactions FORMAT JSONEachRow\n" + rows)

    readme = (ROOT / "README.md").read_text()
    example = re.search(r"### Transactions in ClickHouse\n.*?```sql\n(.*?)```", readme, flags=re.S)
    check("the README's example query is top_unanswered_sources of queries.sql",
          " ".join(re.sub(r"^--.*$", "", queries["top_unanswered_sources"], flags=re.M).split()),
          " ".join(example.group(1).split()) if example else None, "queries.sql", "README")

    # dnstrail live writes an unanswered query at its deadline and a second line, outcome
    # late, when its late answer comes (Sources/Live/EventStream.swift): the same capture as
    # live would stream it must give the same figures.
    live_node, late_node = "late-answers-live", "late-answers"
    if late_node in reports:
        live_lines = []
        for line in dnstrail(binary, ROOT / "captures/late-answers.pcap", "ndjson").splitlines():
            row = json.loads(line)
            if row["outcome"] == "late":
                live_lines.append(json.dumps(row | {"outcome": "unanswered", "rcode": None, "response_frame": None,
                                                    "answered_frame": None, "latency_ms": None, "expired": "timeout"}))
            live_lines.append(line)
        reports[live_node] = reports[late_node]
        lines_per_node[live_node] = len(live_lines)
        sql_session.query("INSERT INTO dnstrail_transactions FORMAT JSONEachRow\n"
                          + "\n".join('{"node":' + json.dumps(live_node) + "," + line[1:] for line in live_lines))
        superseded = len(live_lines) - reports[late_node]["totals"]["transactions"]
        check(f"a live stream of late-answers.pcap has {superseded} unanswered lines that late lines supersede",
              reports[late_node]["totals"]["late"], superseded)

    params = {"from": "2000-01-01 00:00:00", "to": "2100-01-01 00:00:00"}
    counted = {row["node"]: int(row["n"]) for row in
               run(sql_session, "SELECT node, count() AS n FROM dnstrail_transactions GROUP BY node", {})}
    check(f"every NDJSON line loaded ({sum(lines_per_node.values())} lines, {len(captures)} nodes)",
          {node: n for node, n in lines_per_node.items() if n}, counted)
    partitions = run(sql_session, "SELECT count(DISTINCT partition) AS n FROM system.parts "
                     "WHERE database = 'dnstrail' AND table = 'dnstrail_transactions' AND active", {})
    days = run(sql_session, "SELECT count() AS n FROM (SELECT DISTINCT toDate(time), node FROM dnstrail_transactions)", {})
    check("partitioned by day and node", int(days[0]["n"]), int(partitions[0]["n"]))

    # Totals per node: outcome counts equal the report's totals.
    totals = collections.defaultdict(dict)
    for row in run(sql_session, "SELECT node, outcome, count() AS n FROM dnstrail_transactions GROUP BY node, outcome", {}):
        totals[row["node"]][row["outcome"]] = int(row["n"])
    expected_totals, actual_totals = {}, {}
    for node, report in reports.items():
        if node == live_node:
            continue  # two lines for a late transaction: only the queries drop the first
        t = report["totals"]
        for field in ("answered", "late", "unanswered", "rejected", "in_flight", "multicast"):
            expected_totals[(node, field)] = t[field]
            actual_totals[(node, field)] = totals[node].get(field, 0)
        expected_totals[(node, "transactions")] = t["transactions"]
        actual_totals[(node, "transactions")] = sum(totals[node].values())
    check("totals per node, one NDJSON line per transaction (answered, late, unanswered, rejected, in_flight, multicast, transactions) "
          "equal each report's totals", expected_totals, actual_totals)

    # top_unanswered_sources: per node, source and server, the report's unanswered list.
    expected_sources, actual_sources = {}, {}
    for node, report in reports.items():
        for source in report["unanswered"]:
            for server in source["servers"]:
                key = (node, source["client"], server["server"], server["port"], server["transport"])
                expected_sources[key] = (server["queries"], server["attempts"], server["rejected"])
    for row in run(sql_session, queries["top_unanswered_sources"], params):
        key = (row["node"], row["client_ip"], row["server_ip"], int(row["server_port"]), row["transport"])
        actual_sources[key] = (int(row["failed_queries"]), int(row["attempts"]), int(row["rejected"]))
    check(f"top_unanswered_sources equals the reports' unanswered sources per server "
          f"({len(expected_sources)} source-server pairs)", expected_sources, actual_sources)
    per_source_expected = {(node, s["client"]): (s["queries"], s["attempts"])
                           for node, report in reports.items() for s in report["unanswered"]}
    per_source_actual = collections.Counter()
    for (node, client, *_), (queries_failed, attempts, _) in actual_sources.items():
        q, a = per_source_actual.get((node, client), (0, 0))
        per_source_actual[(node, client)] = (q + queries_failed, a + attempts)
    check("its sums per source equal the reports' per-source queries and attempts",
          per_source_expected, dict(per_source_actual))

    # servers: the report's server table.
    expected_servers, actual_servers = {}, {}
    fields = ("queries", "answered", "late", "unanswered", "rejected", "in_flight")
    for node, report in reports.items():
        for server in report["servers"]:
            expected_servers[(node, server["ip"], server["port"], server["transport"])] = tuple(server[f] for f in fields)
    for row in run(sql_session, queries["servers"], params):
        actual_servers[(row["node"], row["server_ip"], int(row["server_port"]), row["transport"])] = \
            tuple(int(row[f]) for f in fields)
    check(f"servers equals the reports' server tables ({len(expected_servers)} servers: "
          "queries, answered, late, unanswered, rejected, in flight)", expected_servers, actual_servers)

    # failures_over_time: every failure in exactly one minute; each node's failures add up.
    rows = run(sql_session, queries["failures_over_time"], params)
    expected_failed = sum(r["totals"]["unanswered"] + r["totals"]["late"] + r["totals"]["rejected"]
                          + r["totals"]["failed_tcp_connections"] for r in reports.values())
    check("failures_over_time: failed queries per minute add up to the reports' unanswered + late "
          "+ rejected + failed connections", expected_failed, sum(int(row["failed"]) for row in rows))
    check("failures_over_time: queries per minute add up to every transaction",
          sum(r["totals"]["transactions"] for r in reports.values()), sum(int(row["queries"]) for row in rows))

    # lost_per_leg: summed over backends, a leg's losses are its server's unanswered + rejected.
    expected_legs = {key: values[3] + values[4] for key, values in expected_servers.items()}
    actual_legs = collections.Counter()
    for row in run(sql_session, queries["lost_per_leg"], params):
        actual_legs[(row["node"], row["server_ip"], int(row["server_port"]), row["transport"])] += int(row["lost"])
    check("lost_per_leg: lost lookups per leg equal the reports' unanswered + rejected per server",
          expected_legs, dict(actual_legs))
    expected_backends = collections.Counter()
    for node, report in reports.items():
        for server in report["servers"]:
            for backend in server["backends"]:
                expected_backends[(node, server["ip"], server["port"], server["transport"], backend["ip"])] += backend["count"]
    actual_backends = {(row["node"], row["server_ip"], int(row["server_port"]), row["transport"], row["backend_ip"]):
                       int(row["answered"]) for row in run(sql_session, queries["lost_per_leg"], params)
                       if row["backend_ip"] and int(row["answered"])}
    check(f"lost_per_leg: answered lookups per DNAT'ed backend equal the reports' backends "
          f"({len(expected_backends)} legs with a backend)", dict(expected_backends), actual_backends)

    # The table is laid out as transactions.sql says.
    layout = run(sql_session, "SELECT partition_key, sorting_key FROM system.tables "
                 "WHERE database = 'dnstrail' AND name = 'dnstrail_transactions'", {})
    check("partition key (day, node); sort key node, server, outcome, client, time",
          [{"partition_key": "(toDate(time), node)", "sorting_key": "node, server.ip, outcome, client.ip, time"}], layout,
          "transactions.sql", "ClickHouse")

    # The time window parameters filter: a window before every capture selects nothing.
    empty = run(sql_session, queries["top_unanswered_sources"], {"from": "2000-01-01 00:00:00", "to": "2000-01-02 00:00:00"})
    check("a time window with no traffic selects nothing", [], empty)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
