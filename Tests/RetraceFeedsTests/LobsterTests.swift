import Foundation
import Testing
@testable import RetraceCore
@testable import RetraceFeeds

let lobsterDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/../shared/datasets/lobster"

/// Rebuilds every row of a LOBSTER sample and counts rows that differ from its orderbook file.
func reconstruct(messages: String, orderbook: String) throws -> (rows: Int, mismatches: [Int], reconciliations: Int) {
    let m = try Lobster.readMessages(messages)
    let (levels, values) = try Lobster.readOrderbook(orderbook)
    let width = 4 * levels
    #expect(values.count == m.count * width)
    let r = LobsterReconstructor(levels: levels, tickSize: LobsterReconstructor.tickSize(messages: m, orderbook: values, levels: levels),
                                 firstRow: values[0..<width], first: m[0])
    var seed: [Int64] = []
    r.write(into: &seed)
    var previous = seed[...]
    var row: [Int64] = []
    var mismatches: [Int] = []
    for (i, message) in m.enumerated() {
        r.apply(message)
        let expected = values[(i * width)..<((i + 1) * width)]
        r.reconcile(message: i + 1, row: expected, previous: previous)
        r.write(into: &row)
        if row[...] != expected { mismatches.append(i + 1) }
        previous = expected
    }
    return (m.count, mismatches, r.reconciliations)
}

@Suite("LOBSTER")
struct LobsterTests {
    @Test("message times parse as exact nanoseconds; bad rows name file and line")
    func parsing() throws {
        let dir = NSTemporaryDirectory() + "retrace-lobster-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "34200.015105074,1,7,100,5794000,1\n34200.5,3,7,100,5794000,1\n34201,4,0,1,5794000,-1\n".write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let m = try Lobster.readMessages(dir + "/m.csv")
        #expect(m.map(\.time) == [34_200_015_105_074, 34_200_500_000_000, 34_201_000_000_000])
        #expect(m[2].side == .sell && m[0].side == .buy)
        try "34200.1,1,7,100,5794000,1\n34200.0,3,7,100,5794000,1\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        let e = #expect(throws: FeedError.self) { _ = try Lobster.readMessages(dir + "/bad.csv") }
        #expect(e?.message.contains("bad.csv:2") == true)
        try "34200.1,9,7,100,5794000,1\n".write(toFile: dir + "/type.csv", atomically: true, encoding: .utf8)
        #expect(throws: FeedError.self) { _ = try Lobster.readMessages(dir + "/type.csv") }
    }

    @Test("GOOG level 1 and level 10: every rebuilt row equals the orderbook file's", arguments: ["1", "10.first100000"])
    func goog(_ level: String) throws {
        let messages = lobsterDirectory + "/GOOG_2012-06-21_34200000_57600000_message_\(level).csv.gz"
        guard FileManager.default.fileExists(atPath: messages) else {
            print("skipped: \(messages) is absent (the shared datasets are not beside the repository)")
            return
        }
        let result = try reconstruct(messages: messages, orderbook: messages.replacingOccurrences(of: "message_", with: "orderbook_"))
        #expect(result.mismatches.isEmpty, "\(result.mismatches.count) of \(result.rows) rows differ; first at message \(result.mismatches.first ?? 0)")
        print("LOBSTER GOOG level \(level): \(result.rows) rows identical, \(result.reconciliations) reconciliations")
    }
}
