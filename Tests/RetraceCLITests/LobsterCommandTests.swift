import Foundation
import Testing

@Suite("LOBSTER commands")
struct LobsterCommandTests {
    @Test("import lobster then book: the rebuilt orderbook file is byte-identical to LOBSTER's (GOOG level 1)")
    func roundTrip() throws {
        let d = sharedDatasets + "/lobster"
        let messages = d + "/GOOG_2012-06-21_34200000_57600000_message_1.csv.gz"
        guard sharedFilePresent(messages) else { return }
        let dir = scratch("lobster")
        defer { removeScratch(dir) }
        let r = try retrace(["import", "lobster", messages, d + "/GOOG_2012-06-21_34200000_57600000_orderbook_1.csv.gz", "--levels", "1",
                             "--out", dir + "/run", "--reconciliations", dir + "/rec.csv", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try summary(r)
        #expect(json["messages"] as? Int == 49_482)
        let reconciliations = try #require(json["reconciliations"] as? Int)
        let log = try String(contentsOfFile: dir + "/rec.csv", encoding: .utf8).split(separator: "\n")
        #expect(log.first == "message,side,price,change" && log.count == reconciliations + 1)
        let b = try retrace(["book", dir + "/run", "--levels", "1", "--csv", dir + "/book.csv"])
        #expect(b.status == 0, "\(b.stderr)")
        let expected = try gunzip(d + "/GOOG_2012-06-21_34200000_57600000_orderbook_1.csv.gz")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/book.csv")) == expected)
        // A second import journals the same records in the same order (no hash-order leaks):
        // only the run id in the segment header differs.
        let again = try retrace(["import", "lobster", messages, d + "/GOOG_2012-06-21_34200000_57600000_orderbook_1.csv.gz", "--levels", "1", "--out", dir + "/run2"])
        #expect(again.status == 0)
        let first = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/journal/00000000.wal"))
        let second = try Data(contentsOf: URL(fileURLWithPath: dir + "/run2/journal/00000000.wal"))
        #expect(first.dropFirst(64) == second.dropFirst(64))
        // Mismatched inputs are refused with both files named.
        let bad = try retrace(["import", "lobster", messages, d + "/GOOG_2012-06-21_34200000_57600000_orderbook_10.first100000.csv.gz",
                               "--levels", "10", "--out", dir + "/bad"])
        #expect(bad.status == 1 && bad.stderr.contains("rows") && !FileManager.default.fileExists(atPath: dir + "/bad"), "\(bad.stderr)")
    }
}
