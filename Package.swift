// swift-tools-version: 6.2
// Retrace: a replayable, event-sourced simulation and backtest engine.
// Module boundaries follow DESIGN.md; no third-party Swift packages.
import PackageDescription

/// The core loop's modules are hot loops over class-held state: dynamic exclusivity checks
/// cost more than the work (a quarter of an event's time in the engine). Static checks
/// still apply.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"])]

let package = Package(
    name: "Retrace",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "retrace", targets: ["retrace"]),
    ],
    targets: [
        // C libraries from Debian packages.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CURing", pkgConfig: "liburing", providers: [.apt(["liburing-dev"])]),
        .systemLibrary(name: "CNuma", pkgConfig: "numa", providers: [.apt(["libnuma-dev"])]),
        // Our own small C shim: the CRC32C instruction.
        .target(name: "CRetraceShims"),
        // Interposed allocator that counts each thread's allocations (linked into the tool
        // only, for `engine.hotpath.mallocs_per_event`).
        .target(name: "CMallocCounter"),

        .target(name: "RetraceCore", dependencies: ["CRetraceShims"], swiftSettings: hotPath),
        .target(name: "RetraceJournal", dependencies: ["RetraceCore", "CRetraceShims", "CZstd", "CURing"], swiftSettings: hotPath),
        .target(name: "RetraceStore", dependencies: ["RetraceCore", "CSQLite"]),
        .target(name: "RetraceMarket", dependencies: ["RetraceCore"], swiftSettings: hotPath),
        .target(name: "RetraceEngine", dependencies: ["RetraceCore", "RetraceJournal", "RetraceStore", "RetraceMarket", "CRetraceShims", "CNuma"], swiftSettings: hotPath),
        .target(name: "RetraceStrategies", dependencies: ["RetraceEngine", "RetraceCore", "RetraceMarket"], swiftSettings: hotPath),
        .target(name: "RetraceFeeds", dependencies: ["RetraceCore", "RetraceJournal", "RetraceMarket", "RetraceEngine", "CZstd", "CRetraceShims"]),
        .target(name: "RetraceReports", dependencies: ["RetraceCore", "RetraceStore", "RetraceJournal"]),
        .target(
            name: "RetraceCLI",
            dependencies: [
                "RetraceCore", "RetraceJournal", "RetraceStore", "RetraceMarket", "RetraceEngine",
                "RetraceStrategies", "RetraceFeeds", "RetraceReports", "CZstd", "CURing", "CNuma", "CSQLite", "CRetraceShims",
            ]
        ),
        .executableTarget(name: "retrace", dependencies: ["RetraceCLI", "CMallocCounter"]),
        // libFuzzer target for the journal decoder and scanner (`make fuzz`).
        .executableTarget(name: "journal-fuzz", dependencies: ["RetraceJournal", "RetraceCore"]),

        .testTarget(name: "RetraceCoreTests", dependencies: ["RetraceCore"]),
        .testTarget(name: "RetraceJournalTests", dependencies: ["RetraceJournal", "RetraceCore"]),
        .testTarget(name: "RetraceStoreTests", dependencies: ["RetraceStore", "RetraceCore"]),
        .testTarget(name: "RetraceMarketTests", dependencies: ["RetraceMarket", "RetraceCore"]),
        .testTarget(name: "RetraceEngineTests", dependencies: ["RetraceEngine", "RetraceStrategies", "RetraceFeeds", "RetraceCore", "RetraceJournal", "RetraceStore", "RetraceMarket"]),
        .testTarget(name: "RetraceFeedsTests", dependencies: ["RetraceFeeds", "RetraceCore"]),
        .testTarget(name: "RetraceReportsTests", dependencies: ["RetraceReports", "RetraceStore", "RetraceCore"]),
        .testTarget(name: "RetraceCLITests", dependencies: ["RetraceCLI", "RetraceCore", "RetraceReports", "RetraceJournal", "RetraceStore"]),
    ],
    swiftLanguageModes: [.v6]
)
