import Foundation
import RetraceCore

/// Where each role's column is in one file, found from its header (or `--columns`).
struct ColumnMap {
    let format: FeedFormat
    let names: [String]
    /// 1 when the first line is a header, 0 for headerless files.
    let headerLines: Int
    let defaultSymbol: String
    var receiveTime: Int?
    var eventTime: Int?
    var receiveUnit: TimeUnit = .ns
    var eventUnit: TimeUnit = .ns
    var symbolColumn: Int?
    var price: Int?, quantity: Int?, buyerMaker: Int?, side: Int?, tradeID: Int?
    var bid: Int?, ask: Int?, bidSize: Int?, askSize: Int?
    var open: Int?, high: Int?, low: Int?, close: Int?, volume: Int?
    var width = 0

    /// Columns holding prices / quantities, fixed once the roles are mapped.
    private(set) var priceColumns: [Int] = []
    private(set) var quantityColumns: [Int] = []

    init(file: CSVFile, format: FeedFormat, options: ImportOptions) throws(FeedError) {
        self.format = format
        var header: [String] = []
        var first: [Range<Int>] = []
        var second: [Range<Int>] = []
        let opening = file.firstLines(2)
        if opening.count > 0 { first = opening[0] }
        if opening.count > 1 { second = opening[1] }
        guard !first.isEmpty else { throw FeedError(.malformedRow, "\(file.path): the file is empty") }
        if let columns = options.columns {
            header = columns.map { $0.lowercased() }
            headerLines = 0
            second = first
        } else {
            header = first.map { file.text($0).trimmingCharacters(in: .whitespaces).lowercased() }
            headerLines = 1
            if header.allSatisfy({ FixedPoint.fractionalDigits($0) != nil || Timestamp.parseISO8601($0) != nil }) {
                throw FeedError(.missingColumn, "\(file.path):1: no header row (the first line is data); name the columns with --columns, e.g. --columns time,bid,ask,volume")
            }
        }
        names = header
        defaultSymbol = options.instrument ?? ColumnMap.symbolFromFileName(file.path)
        func find(_ candidates: [String]) -> Int? {
            for c in candidates { if let i = header.firstIndex(of: c) { return i } }
            return nil
        }
        /// Exact names first, then names that differ only by a unit suffix (`time_ms`).
        func findTime(_ candidates: [String]) -> Int? {
            if let i = find(candidates) { return i }
            return header.firstIndex { name in
                guard let unit = TimeUnit.implied(by: name) else { return false }
                let suffix = "_" + (unit == .s ? (name.hasSuffix("_sec") ? "sec" : "s") : unit.rawValue)
                return name.hasSuffix(suffix) && candidates.contains(String(name.dropLast(suffix.count)))
            }
        }
        receiveTime = findTime(FeedFormat.receiveTimeNames)
        eventTime = findTime(FeedFormat.eventTimeNames.filter { !FeedFormat.receiveTimeNames.contains($0) && !$0.isEmpty }) ?? find([""])
        symbolColumn = options.instrument == nil ? find(FeedFormat.symbolNames) : nil
        guard receiveTime != nil || eventTime != nil else {
            throw FeedError(.missingColumn, "\(file.path):1: no time column; expected one of \(FeedFormat.eventTimeNames.filter { !$0.isEmpty }.joined(separator: ", ")) (found: \(header.joined(separator: ", ")))")
        }
        try mapRoles(find, file)
        priceColumns = [price, bid, ask, open, high, low, close].compactMap { $0 }
        quantityColumns = [quantity, bidSize, askSize, volume].compactMap { $0 }
        width = ([receiveTime, eventTime, symbolColumn] + priceColumns.map { Optional($0) } + quantityColumns.map { Optional($0) } + [buyerMaker, side, tradeID]).compactMap { $0 }.max()! + 1
        let sample = second.isEmpty ? first : second
        if let r = receiveTime { receiveUnit = options.timeUnit ?? TimeUnit.implied(by: header[r]) ?? (r < sample.count ? TimeUnit.sniff(file.bytes[sample[r]]) : .ns) }
        if let e = eventTime { eventUnit = options.timeUnit ?? TimeUnit.implied(by: header[e]) ?? (e < sample.count ? TimeUnit.sniff(file.bytes[sample[e]]) : .ns) }
    }

    private mutating func mapRoles(_ find: ([String]) -> Int?, _ file: CSVFile) throws(FeedError) {
        func need(_ role: String, _ candidates: [String]) throws(FeedError) -> Int {
            guard let i = find(candidates) else {
                throw FeedError(.missingColumn, "\(file.path):1: \(format.rawValue) needs a '\(role)' column (one of: \(candidates.joined(separator: ", "))); found: \(names.joined(separator: ", "))")
            }
            return i
        }
        switch format {
        case .tradesCSV:
            price = try need("price", FeedFormat.priceNames)
            quantity = try need("quantity", FeedFormat.quantityNames)
            buyerMaker = find(FeedFormat.buyerMakerNames)
            side = find(FeedFormat.sideNames)
            tradeID = find(FeedFormat.tradeIDNames)
        case .quotesCSV:
            bid = try need("bid", FeedFormat.bidNames)
            ask = try need("ask", FeedFormat.askNames)
            bidSize = find(FeedFormat.bidSizeNames)
            askSize = find(FeedFormat.askSizeNames)
        case .barsCSV:
            open = try need("open", FeedFormat.openNames)
            high = try need("high", FeedFormat.highNames)
            low = try need("low", FeedFormat.lowNames)
            close = try need("close", FeedFormat.closeNames)
            volume = find(FeedFormat.volumeNames)
        }
    }

    /// A symbol from a file name: its first all-caps token of 2+ characters
    /// (`backtestingpy_GOOG_daily.csv` → GOOG), else the name's first 16 bytes.
    static func symbolFromFileName(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let stem = name.split(separator: ".").first.map(String.init) ?? name
        let tokens = stem.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == " " })
        if let t = tokens.first(where: { $0.count >= 2 && $0.count <= Symbol.capacity && $0.allSatisfy { $0.isUppercase || $0.isNumber } && $0.contains(where: \.isLetter) }) {
            return String(t)
        }
        return String(stem.utf8.prefix(Symbol.capacity)) ?? "DATA"
    }

    func checkWidth(_ fields: [Range<Int>], _ file: CSVFile, _ line: Int) throws(FeedError) {
        guard fields.count >= width else {
            throw FeedError(.malformedRow, "\(file.path):\(line): \(fields.count) fields, expected at least \(width) (header: \(names.joined(separator: ",")))")
        }
    }

    func symbol(_ fields: [Range<Int>], _ file: CSVFile, _ line: Int) throws(FeedError) -> String {
        guard let c = symbolColumn else { return defaultSymbol }
        let s = file.text(fields[c])
        guard !s.isEmpty else { throw FeedError(.malformedRow, "\(file.path):\(line): empty symbol in column '\(names[c])'") }
        return s
    }
}
