import RetraceCore

/// Reads CSV trades, quotes and bars into events, mapping columns by header name.
///
/// Prices and quantities are parsed exactly into fixed point at a per-instrument scale:
/// the most decimals seen in that instrument's price (quantity) columns, unless fixed by
/// options. Rows must be in time order within a file; several files are merged by
/// (receive time, file order, line).
public enum CSVImporter {
    /// A parsed feed: instrument definitions, then market events in merge order.
    public struct Feed: Sendable {
        public var instruments: [Instrument]
        public var events: [Event]
        /// Data rows read per input file.
        public var rowsPerFile: [Int]
    }

    /// Loads and merges `inputs`.
    public static func load(_ inputs: [ImportInput], options: ImportOptions) throws(FeedError) -> Feed {
        var registry = InstrumentRegistry(options: options)
        var files: [(CSVFile, ColumnMap)] = []
        for input in inputs {
            let file = try CSVFile(path: input.path)
            let map = try ColumnMap(file: file, format: input.format, options: options)
            try registry.scan(file, map)
            files.append((file, map))
        }
        let instruments = try registry.instruments()
        var keyed: [(time: Int64, file: Int, index: Int, event: Event)] = []
        var rows: [Int] = []
        for (fileIndex, (file, map)) in files.enumerated() {
            let events = try map.events(file, registry: registry, instruments: instruments)
            rows.append(events.count)
            for (i, e) in events.enumerated() { keyed.append((e.receiveTime.nanos, fileIndex, i, e)) }
        }
        if files.count > 1 {
            keyed.sort { ($0.time, $0.file, $0.index) < ($1.time, $1.file, $1.index) }
        }
        let start = keyed.first?.event.receiveTime ?? .zero
        var events = instruments.map { Event(eventTime: start, receiveTime: start, body: .instrumentDefined(InstrumentDefined(instrument: $0))) }
        events.reserveCapacity(events.count + keyed.count)
        for k in keyed { events.append(k.event) }
        return Feed(instruments: instruments, events: events, rowsPerFile: rows)
    }
}

/// Assigns instrument ids in order of first appearance and finds each one's scales.
struct InstrumentRegistry {
    let options: ImportOptions
    var symbols: [String] = []
    var priceDecimals: [Int] = []
    var quantityDecimals: [Int] = []

    init(options: ImportOptions) { self.options = options }

    mutating func index(of symbol: String) -> Int {
        if let i = symbols.firstIndex(of: symbol) { return i }
        symbols.append(symbol)
        priceDecimals.append(0)
        quantityDecimals.append(0)
        return symbols.count - 1
    }

    func existingIndex(of symbol: String) -> Int? { symbols.firstIndex(of: symbol) }

    /// Pass 1: symbols and decimals.
    mutating func scan(_ file: CSVFile, _ map: ColumnMap) throws(FeedError) {
        try file.forEachLine { (line, fields) throws(FeedError) in
            guard line > map.headerLines else { return }
            try map.checkWidth(fields, file, line)
            let i = index(of: try map.symbol(fields, file, line))
            for c in map.priceColumns {
                guard let d = map.decimals(file, fields[c]) else {
                    throw FeedError(.malformedRow, "\(file.path):\(line): column '\(map.names[c])' value '\(file.text(fields[c]))' is not a decimal number")
                }
                priceDecimals[i] = max(priceDecimals[i], d)
            }
            for c in map.quantityColumns where !fields[c].isEmpty {
                guard let d = map.decimals(file, fields[c]) else {
                    throw FeedError(.malformedRow, "\(file.path):\(line): column '\(map.names[c])' value '\(file.text(fields[c]))' is not a decimal number")
                }
                quantityDecimals[i] = max(quantityDecimals[i], d)
            }
        }
    }

    func instruments() throws(FeedError) -> [Instrument] {
        var out: [Instrument] = []
        for (i, s) in symbols.enumerated() {
            guard let symbol = Symbol(s) else { throw FeedError(.unsupported, "instrument symbol '\(s)' is longer than \(Symbol.capacity) bytes; pass --instrument NAME") }
            let ps = options.priceScale ?? priceDecimals[i]
            let qs = options.quantityScale ?? quantityDecimals[i]
            guard ps <= 12, qs <= 12 else { throw FeedError(.unsupported, "instrument \(s): \(max(ps, qs)) decimals exceed the 12 supported") }
            out.append(Instrument(id: InstrumentID(UInt32(i)), symbol: symbol, priceScale: ps, quantityScale: qs))
        }
        return out
    }
}
