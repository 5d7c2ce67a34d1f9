import Foundation
import RetraceCore
import RetraceFeeds
import Testing

/// The peer benchmarks' L2 generator, ported: its first 3,000 events equal the ones
/// `bench_hftbacktest.py --mode goto_end --n 3000 --write-csv` wrote (Tests/Fixtures), field
/// by field, so Retrace and hftbacktest replay the same feed.
@Suite("Peer workloads")
struct PeerWorkloadTests {
    @Test("PeerDepthWorkload equals hftbacktest's gen_depth_events(3000, seed 42) event for event")
    func depthParity() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/peer-depth-3000.csv")
        let lines = try String(contentsOf: fixture, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
        var events: [Event] = []
        PeerDepthWorkload.generate(count: 3000) { events.append($0) }
        #expect(events.count == 3001, "the instrument definition and exactly n events")
        #expect(lines.count == 3000)
        var trades = 0
        for (line, e) in zip(lines, events.dropFirst()) {
            let f = line.split(separator: ",").map(String.init)
            let ticks = Int64((Double(f[4])! * 10).rounded()), lots = Int64((Double(f[5])! * 1000).rounded())
            #expect(e.eventTime.nanos == Int64(f[0])! && e.receiveTime.nanos == Int64(f[1])!, "\(line)")
            switch e.body {
            case .l2LevelUpdated(let u):
                #expect(f[2] == "D" && (f[3] == "B") == (u.side == .buy) && u.price.raw == ticks && u.quantity.raw == lots, "\(line) vs \(u)")
            case .tradeReceived(let t):
                trades += 1
                // B: buyer-initiated, S: seller-initiated.
                #expect(f[2] == "T" && (f[3] == "B") == (t.aggressor == .buyer) && t.price.raw == ticks && t.quantity.raw == lots, "\(line) vs \(t)")
            default: Issue.record("unexpected event \(e.body.kind)")
            }
        }
        #expect(trades > 300, "a quarter of the generator steps trade (two events each)")
    }
}
