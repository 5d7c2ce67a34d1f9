import Testing
@testable import RetraceCore

@Suite("Timestamps")
struct TimestampTests {
    @Test("ISO-8601 forms parse to UTC nanoseconds", arguments: [
        ("2004-08-19", Int64(1_092_873_600_000_000_000)),
        ("2017-04-19 09:00:00", 1_492_592_400_000_000_000),
        ("2024-01-01T00:00:00.000000001Z", 1_704_067_200_000_000_001),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200_000_000_000),
        ("20200101 170000065", 1_577_898_000_065_000_000),
        ("1969-12-31T23:59:59.5Z", -500_000_000),
    ])
    func parses(text: String, nanos: Int64) {
        #expect(Timestamp.parseISO8601(text)?.nanos == nanos)
    }

    @Test("malformed dates are refused", arguments: ["2024-13-01", "2024-01-01T25:00", "yesterday", "2024-01-01T00:00:00.1234567890Z", "2024-01-01Zulu"])
    func refuses(text: String) {
        #expect(Timestamp.parseISO8601(text) == nil)
    }

    @Test("formatting round-trips through parsing, before and after the epoch")
    func roundTrip() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<1000 {
            let t = Timestamp(nanos: Int64(bitPattern: rng.next()) % 4_000_000_000_000_000_000)
            #expect(Timestamp.parseISO8601(t.iso8601) == t, "\(t.nanos) → \(t.iso8601)")
        }
    }
}
