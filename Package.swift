// swift-tools-version: 6.0
// dnstrail: a packet-level DNS traffic tracer. One target per pipeline stage:
// CPcap/CZlib (C libraries) → Capture → PacketDecoding → Reassembly → DNSWire → Transactions
// → Pipeline (wires the stages) → Reports → Live (live sessions, KubernetesWatch names) → dnstrail (thin CLI).
import PackageDescription

/// The modules a frame passes through: compiled with the aggressive form of cross-module
/// optimization, so that the small functions and initializers one stage calls in the next
/// (a message's observation, a slot lookup, a key's fold) are inlined where they are used
/// (callgrind, 1 M-frame synthetic capture: 5,442 -> 5,389 instructions per frame,
/// bench/profile.md). An unsafe flag: this package is a root or a path dependency (Fuzz/) only.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"])]

let package = Package(
    name: "dnstrail",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dnstrail", targets: ["dnstrail"]),
        // The analysis stages as a library, for the fuzz package in Fuzz/ (kept out of this
        // package so that sanitizer flags never touch the main build).
        .library(name: "DNSTrailCore", targets: [
            "WireCore", "PacketDecoding", "Reassembly", "DNSWire", "Transactions", "Pipeline",
            "Attribution", "Diagnosis", "Reports", "Evidence",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        // Prometheus metrics of live runs: the registry and its text format, and a small HTTP server.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // `live --kubernetes`: the API server's list and watch over HTTPS with the cluster's own CA
        // (Foundation on Linux cannot trust a custom CA file), and kubeconfig files (YAML).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Inline C for the hot path where Swift has no spelling: the prefetch hint (no library).
        .systemLibrary(name: "CHotPath"),
        // Shared vocabulary: the bounds-checked byte reader, capture timestamps, link types.
        .target(name: "WireCore", swiftSettings: hotPathSettings),
        // libpcap wrapper: offline files (pcap, pcapng, gzip) and live capture. The only
        // module that imports the C libraries.
        .target(name: "Capture", dependencies: ["CPcap", "CZlib", "WireCore"], swiftSettings: hotPathSettings),
        // Link layer, VLAN, IPv4/IPv6, UDP/TCP headers: zero-copy views.
        .target(name: "PacketDecoding", dependencies: ["WireCore"], swiftSettings: hotPathSettings),
        // Stateful, bounded reassembly: IPv4/IPv6 fragments and DNS-over-TCP streams.
        .target(name: "Reassembly", dependencies: ["WireCore", "PacketDecoding"], swiftSettings: hotPathSettings),
        // Hand-written DNS wire-format parser (RFC 1035, 3596, 2782, 6891).
        .target(name: "DNSWire", dependencies: ["WireCore"], swiftSettings: hotPathSettings),
        // Query/response pairing, retries, timeouts.
        .target(name: "Transactions", dependencies: [
            "WireCore", "PacketDecoding", "DNSWire",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], swiftSettings: hotPathSettings),
        // Drives frames from Capture through decoding and DNS parsing into the engine.
        // Also the parallel pipeline: a reader, sharded engines, an ordered merge (Synchronization, Deque).
        .target(name: "Pipeline", dependencies: [
            "WireCore", "Capture", "PacketDecoding", "Reassembly", "DNSWire", "Transactions", "Evidence", "CHotPath",
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hotPathSettings),
        // Who is behind an IP: pods, nodes and Services from `kubectl get pods,svc -A -o json`.
        .target(name: "Attribution", dependencies: ["PacketDecoding"]),
        // Incident evidence bundles: pcapng writer with comments, checksummed manifest, verify.
        .target(name: "Evidence", dependencies: [
            "WireCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // From transactions to findings: the known DNS incidents, with evidence and remedies.
        .target(name: "Diagnosis", dependencies: ["WireCore", "PacketDecoding", "DNSWire", "Transactions", "Attribution", "CHotPath"], swiftSettings: hotPathSettings),
        // Human, JSON and NDJSON reports.
        .target(name: "Reports", dependencies: [
            "WireCore", "PacketDecoding", "DNSWire", "Transactions", "Pipeline", "Diagnosis", "Attribution",
            "Capture", "Evidence",
        ], swiftSettings: hotPathSettings),
        // `dnstrail live`: the capture loop, the event stream with FINDING lines, the status
        // line, --pods reloads, and the observer hook (LiveObserver) for metrics and triggers.
        .target(name: "Live", dependencies: [
            "WireCore", "Capture", "PacketDecoding", "Transactions", "Pipeline", "Diagnosis", "Attribution",
            "Reports", "Evidence", "DNSWire", "DNSMetrics", "KubernetesWatch",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        // `live --kubernetes`/`--kubeconfig`: lists and watches pods and Services on the API
        // server, publishing a ClusterDirectory snapshot the live loop picks up. Not in
        // DNSTrailCore: it alone pulls in async-http-client and NIOSSL.
        .target(name: "KubernetesWatch", dependencies: [
            "Attribution", "PacketDecoding",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "dnstrail", dependencies: [
            "Live", "DNSMetrics", "Pipeline", "Reports", "Capture", "Diagnosis", "Attribution", "PacketDecoding", "Evidence",
            "KubernetesWatch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Prometheus metrics of a live run (`live --metrics`) and the HTTP server for /metrics.
        // Not named "Metrics": swift-metrics, which swift-prometheus depends on, has a target of that name.
        .target(name: "DNSMetrics", dependencies: [
            "PacketDecoding", "DNSWire", "Transactions", "Attribution", "Diagnosis",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "FlyingFox", package: "FlyingFox"),
            .product(name: "FlyingSocks", package: "FlyingFox"),
        ]),
        // A live capture feeding DNSMetrics and printing the JSON report: for scripts/metrics-test,
        // until `dnstrail live --metrics` is wired to the live session.
        .executableTarget(name: "dnstrail-metrics-harness", dependencies: [
            "DNSMetrics", "Pipeline", "Capture", "Reports", "Diagnosis", "Attribution", "Transactions",
        ], path: "Tests/MetricsHarness"),
        // Shared by the test targets: where the public captures are, running a program.
        .target(name: "DNSTrailTestSupport", path: "Tests/DNSTrailTestSupport"),
        .testTarget(name: "WireCoreTests", dependencies: ["WireCore"]),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "WireCore"]),
        .testTarget(name: "PacketDecodingTests", dependencies: ["PacketDecoding", "WireCore"]),
        .testTarget(name: "ReassemblyTests", dependencies: ["Reassembly", "PacketDecoding", "WireCore"]),
        .testTarget(name: "DiagnosisTests", dependencies: ["Diagnosis", "Transactions", "Attribution", "PacketDecoding", "DNSWire", "WireCore"]),
        .testTarget(name: "AttributionTests", dependencies: ["Attribution", "PacketDecoding"]),
        .testTarget(name: "EvidenceTests", dependencies: ["DNSTrailTestSupport", "Evidence", "WireCore"]),
        .testTarget(name: "CaptureTests", dependencies: ["DNSTrailTestSupport", "Capture", "PacketDecoding", "WireCore"]),
        .testTarget(name: "TransactionsTests", dependencies: ["Transactions", "PacketDecoding", "DNSWire", "WireCore"]),
        .testTarget(name: "KubernetesWatchTests", dependencies: [
            "KubernetesWatch", "Attribution", "PacketDecoding", "DNSTrailTestSupport",
        ]),
        .testTarget(name: "LiveTests", dependencies: [
            "Live", "Pipeline", "Reports", "Transactions", "Diagnosis", "Attribution", "PacketDecoding", "DNSWire", "WireCore",
            "Capture", "Evidence",
        ]),
        .testTarget(name: "EndToEndTests", dependencies: ["DNSTrailTestSupport", "Live", "Pipeline", "Reports", "Capture", "Transactions", "Diagnosis", "Attribution", "DNSWire"],
                    exclude: ["Golden"]),
        .testTarget(name: "DNSMetricsTests", dependencies: [
            "DNSMetrics", "DNSTrailTestSupport", "Pipeline", "Reports", "Transactions", "Diagnosis", "Attribution",
            "PacketDecoding", "DNSWire", "WireCore",
        ]),
        // Minimized crash reproducers found by the fuzz targets in Fuzz/, one named test each.
        .testTarget(name: "FuzzRegressionTests", dependencies: [
            "DNSWire", "PacketDecoding", "Reassembly", "WireCore", "Pipeline", "Capture", "Reports", "Transactions",
        ],
                    exclude: ["Reproducers"]),
    ]
)
