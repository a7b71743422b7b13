// swift-tools-version: 6.0
// libFuzzer targets for dnstrail, in their own package so that sanitizer flags
// (`--sanitize=fuzzer`, `-sanitize=fuzzer,address`) never touch the main build.
// Build and run them with `scripts/fuzz`; see Fuzz/README.md.
import PackageDescription

/// Fuzz targets are executables without `main`: libFuzzer supplies it and calls the
/// `@_cdecl("LLVMFuzzerTestOneInput")` function.
let fuzzerSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "dnstrail-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "dnstrail", path: ".."),
    ],
    targets: [
        // Shared by the targets: a cursor that turns fuzzer bytes into structured choices.
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        .executableTarget(
            name: "FuzzDNSParser",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
        .executableTarget(
            name: "FuzzPacketDecoder",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
        .executableTarget(
            name: "FuzzPipeline",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
        .executableTarget(
            name: "FuzzReassembly",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
        // The stages after parsing: report figures, timeline, diagnosis, text/JSON/HTML/NDJSON.
        .executableTarget(
            name: "FuzzReports",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
        // `verify` on a hostile evidence bundle.
        .executableTarget(
            name: "FuzzVerify",
            dependencies: ["FuzzSupport", .product(name: "DNSTrailCore", package: "dnstrail")],
            swiftSettings: fuzzerSettings),
    ]
)
