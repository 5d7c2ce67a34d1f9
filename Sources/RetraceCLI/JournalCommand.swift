import RetraceCore
import RetraceJournal

enum JournalCommand {
    static let help = """
    usage: retrace journal verify RUN
           retrace journal inspect RUN [--limit N]

      verify   reads every record, checks each CRC, the sequence chain and the encoding;
               reports a torn tail (byte offset) and exits 1 on corruption
      inspect  prints records: sequence, byte offset, kind, times
    """

    static func run(_ args: ArraySlice<String>) throws -> Int32 {
        let a = try Arguments(args, valued: ["limit"], flags: ["json"])
        if a.has("help") { Output.out(help); return 0 }
        guard a.positionals.count == 2, ["verify", "inspect"].contains(a.positionals[0]) else { throw UsageError("expected verify|inspect RUN") }
        let reader = try JournalReader(directory: a.positionals[1] + "/journal")
        let limit = Int(a.value("limit") ?? "") ?? Int.max
        var counts = [Int](repeating: 0, count: 256)
        var total = 0
        while let record = try reader.next() {
            let event: Event
            do { event = try EventCodec.decode(record.payload, sequence: record.sequence) } catch {
                throw JournalError(.corrupt, "\(reader.path) at byte \(record.offset): \(error.message)")
            }
            counts[Int(event.body.kind.rawValue)] += 1
            total += 1
            if a.positionals[0] == "inspect" && total <= limit {
                Output.out("#\(record.sequence) @\(record.offset) \(event.body.kind.name) event=\(event.eventTime) receive=\(event.receiveTime)")
            }
        }
        if a.positionals[0] == "verify" {
            Output.out("\(reader.path): \(total) records, sequences \(reader.firstSequence)...\(reader.lastSequence), \(reader.fileBytes) bytes, all CRCs valid")
            for k in EventKind.allCases where counts[Int(k.rawValue)] > 0 { Output.out("  \(k.name): \(counts[Int(k.rawValue)])") }
        }
        if let torn = reader.tornTail {
            Output.err("warning: \(torn)")
            return 1
        }
        return 0
    }
}
