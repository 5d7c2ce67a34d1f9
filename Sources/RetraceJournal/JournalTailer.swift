/// Follows a journal another process is writing: each `poll` delivers the records that
/// have landed since the last one, in sequence order, without touching the writer's files.
///
/// It catches up with a verifying reader, then follows the files as they grow
/// (`JournalFollower`).
public final class JournalTailer {
    public let directory: String
    /// The last sequence delivered or skipped.
    public var lastSequence: UInt64 { follower?.lastSequence ?? caughtUp }
    private let from: UInt64
    /// Reads the records already there (any segment form) before following begins.
    private var catchUp: JournalReader?
    private var caughtUp: UInt64 = 0
    private var follower: JournalFollower?

    /// Starts at sequence `from` (records before it are skipped), or after the records
    /// already in the journal when `from` is nil.
    /// - Throws: `.notFound` while the journal does not exist yet; reading errors of the
    ///   existing records.
    public init(directory: String, from: UInt64?) throws(JournalError) {
        self.directory = directory
        // Catch up with a verifying reader (it handles compressed segments), then follow.
        let reader = try JournalReader(directory: directory)
        if let from { try reader.seek(toSequence: from) } else {
            try reader.seekToLastSegment()
            while try reader.next() != nil {}
        }
        self.from = from ?? reader.lastSequence &+ 1
        catchUp = reader
    }

    /// Delivers every complete record now available; returns how many were delivered.
    @discardableResult
    public func poll(_ deliver: (JournalRecord) throws -> Void) throws -> Int {
        var delivered = 0
        if let reader = catchUp {
            while let record = try reader.next() {
                try deliver(record)
                delivered += 1
            }
            // Follow on from where the reader stopped (offset 0: wait for the segment's header).
            let offset = reader.position < JournalFormat.headerSize ? 0 : reader.position
            caughtUp = reader.lastSequence
            follower = JournalFollower(directory: directory, segment: reader.currentSegment, offset: offset, lastSequence: reader.lastSequence, from: from)
            catchUp = nil
        }
        return try delivered + follower!.poll(deliver)
    }
}
