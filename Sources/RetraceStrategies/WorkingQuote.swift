import RetraceCore

/// One of a quoting strategy's working orders: its id and price (the market makers keep a
/// bid and an ask).
struct WorkingQuote: StateCodable {
    var id: ClientOrderID
    var price: Price

    init(id: ClientOrderID, price: Price) { (self.id, self.price) = (id, price) }
    func saveState(_ w: inout StateWriter) { w.put(id); w.put(price) }
    init(state r: inout StateReader) throws(CoreError) { self.init(id: try r.get(), price: try r.get()) }
}
