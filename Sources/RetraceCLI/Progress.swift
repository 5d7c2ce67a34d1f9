import Foundation
import Glibc
import RetraceEngine
import RetraceJournal

/// A progress bar on stderr with rate and ETA, for long commands. It exists only when
/// stderr is a terminal and `--quiet` was not given, so piped output and logs stay clean.
/// It redraws at most every 100 ms (time is read once per 4,096 updates).
final class Progress {
    let label: String
    let total: UInt64
    let unit: String
    private let started: Int64
    private var lastDraw: Int64 = 0
    private var calls: UInt64 = 0
    private var drawn = false

    /// nil when no bar should be shown.
    init?(_ label: String, total: UInt64, unit: String = "events", quiet: Bool) {
        guard !quiet, isatty(2) != 0, total > 0 else { return nil }
        (self.label, self.total, self.unit) = (label, total, unit)
        started = Progress.now()
    }

    static func now() -> Int64 { ReplayInput.monotonicNanos() }

    /// Reports `done` of `total`; `force` redraws now (slow units such as whole runs).
    @inline(__always)
    func update(_ done: UInt64, force: Bool = false) {
        calls &+= 1
        guard calls & 4095 == 0 || done >= total || force else { return }
        let t = Progress.now()
        guard t - lastDraw >= 100_000_000 || done >= total || force else { return }
        lastDraw = t
        draw(done, t)
    }

    private func draw(_ done: UInt64, _ t: Int64) {
        let fraction = min(1, Double(done) / Double(total))
        let width = 28
        let filled = Int(fraction * Double(width))
        let elapsed = Double(t - started) / 1e9
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - min(done, total)) / rate : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "\r%@ %@ %5.1f%%  %@ %@/s  ETA %@\u{1B}[K", label, bar, fraction * 100, Progress.count(rate), unit, Progress.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Clears the bar.
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    static func count(_ x: Double) -> String {
        x >= 1e6 ? String(format: "%.2fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fk", x / 1e3) : x >= 10 ? String(format: "%.0f", x) : String(format: "%.2f", x)
    }

    static func clock(_ s: Double) -> String {
        let n = Int(s.rounded(.up))
        return n >= 3600 ? String(format: "%d:%02d:%02d", n / 3600, n / 60 % 60, n % 60) : String(format: "%d:%02d", n / 60, n % 60)
    }
}

/// Counts the events a source hands out into a progress bar.
struct ProgressInput<Base: InputSource>: InputSource {
    var base: Base
    let progress: Progress?
    private var done: UInt64 = 0

    init(_ base: Base, _ progress: Progress?) { (self.base, self.progress) = (base, progress) }

    var inputJournal: JournalReader? { base.inputJournal }

    mutating func next(into input: inout InputEvent) throws(EngineError) -> Bool {
        guard try base.next(into: &input) else {
            progress?.finish()
            return false
        }
        done &+= 1
        progress?.update(done)
        return true
    }

    mutating func next(slot: UnsafeMutablePointer<InputEvent>) throws(EngineError) -> UnsafeMutablePointer<InputEvent>? {
        guard let p = try base.next(slot: slot) else {
            progress?.finish()
            return nil
        }
        done &+= 1
        progress?.update(done)
        return p
    }
}
