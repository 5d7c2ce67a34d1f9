import CRetraceShims
import Foundation
import RetraceCore
import RetraceEngine
import RetraceFeeds
import RetraceJournal
import RetraceReports
import RetraceStore

/// The `retrace` command: parses arguments, runs one command, maps errors to exit codes
/// (0 success, 1 failure, 2 usage).
public enum RetraceCommandLine {
    static let commands: [(String, String)] = [
        ("demo", "backtest ema-cross on the bundled dataset and print a summary"),
        ("generate", "write a synthetic quotes + trades dataset from a seed"),
        ("import", "read CSV feeds (or a LOBSTER window) into a data run"),
        ("book", "write the order book after every message of an order-level run (LOBSTER layout)"),
        ("backtest", "run a strategy over a data run or a CSV file"),
        ("replay", "re-run a recorded run through the same engine (paced or max), prove it matches, what-ifs, windows, breakpoints"),
        ("diff", "compare two runs' output streams: the first divergence, its context, summary deltas"),
        ("timesync", "estimate each feed's clock offset and drift from a run's timestamps"),
        ("export", "write a run's trades, orders, fills, positions, equity, latency and summary as CSV"),
        ("report", "write a self-contained HTML report with charts (one run, or two side by side)"),
        ("journal", "verify, inspect, rebuild a store from, or crash-test a run's journal"),
        ("venue", "a venue simulator on TCP: streams a data run, matches orders, injects faults"),
        ("live", "trade against a venue over TCP with an fsync'd journal; --resume after a crash"),
        ("sweep", "run a parameter grid (or walk-forward windows) as parallel backtests, locally or on Ray; ranked results"),
        ("bench", "component and end-to-end benchmarks"),
    ]

    /// Entry point of the executable.
    public static func main() -> Never {
        // A file-size limit (RLIMIT_FSIZE) must surface as an EFBIG error the journal reports,
        // not as a signal that kills the process mid-write.
        signal(SIGXFSZ, SIG_IGN)
        // A sweep's backtest process dies with its sweep (a killed sweep leaves no orphans
        // finishing runs behind its back; resuming redoes the runs it interrupted).
        if let parent = ProcessInfo.processInfo.environment[SweepRunner.parentVariable].flatMap(Int32.init),
           retrace_die_with_parent(parent) != 0 {
            exit(1)
        }
        exit(run(Array(CommandLine.arguments.dropFirst())))
    }

    /// Runs a command line (without the program name) and returns the exit status.
    public static func run(_ args: [String]) -> Int32 {
        guard let command = args.first else {
            Output.err(usage)
            return 2
        }
        let rest = args.dropFirst()
        do {
            switch command {
            case "demo": return try DemoCommand.run(rest)
            case "generate": return try GenerateCommand.run(rest)
            case "import": return try ImportCommand.run(rest)
            case "book": return try BookCommand.run(rest)
            case "backtest": return try BacktestCommand.run(rest)
            case "export": return try ExportCommand.run(rest)
            case "replay": return try ReplayCommand.run(rest)
            case "diff": return try DiffCommand.run(rest)
            case "report": return try ReportCommand.run(rest)
            case "timesync": return try TimeSyncCommand.run(rest)
            case "journal": return try JournalCommand.run(rest)
            case "sweep": return try SweepCommand.run(rest)
            case "venue": return try VenueCommand.run(rest)
            case "live": return try LiveCommand.run(rest)
            case "bench": return try BenchCommand.run(rest)
            case "--version", "version": Output.out("retrace \(retraceVersion)"); return 0
            case "--help", "-h", "help": Output.out(usage); return 0
            default:
                Output.err("retrace: unknown command '\(command)'\n\n\(usage)")
                return 2
            }
        } catch let e as UsageError {
            Output.err("retrace \(command): \(e.message)\n\n\(help(for: command))")
            return 2
        } catch {
            Output.err("retrace \(command): error: \(describe(error))")
            return 1
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as EngineError: e.message
        case let e as FeedError: e.message
        case let e as JournalError: e.message
        case let e as StoreError: e.message
        case let e as ReportError: e.message
        case let e as CoreError: e.message
        default: "\(error)"
        }
    }

    static var usage: String {
        var s = "usage: retrace <command> [options]   (retrace <command> --help for details)\n\ncommands:\n"
        for (name, text) in commands { s += "  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(text)\n" }
        return s
    }

    static func help(for command: String) -> String {
        switch command {
        case "demo": DemoCommand.help
        case "generate": GenerateCommand.help
        case "import": ImportCommand.help
        case "book": BookCommand.help
        case "backtest": BacktestCommand.help
        case "export": ExportCommand.help
        case "replay": ReplayCommand.help
        case "diff": DiffCommand.help
        case "report": ReportCommand.help
        case "timesync": TimeSyncCommand.help
        case "journal": JournalCommand.help
        case "sweep": SweepCommand.help
        case "venue": VenueCommand.help
        case "live": LiveCommand.help
        case "bench": BenchCommand.help
        default: usage
        }
    }
}
