import Foundation
import Testing

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
/// The shared datasets beside the repository (CI puts them there).
let sharedDatasets = packageRoot + "/../shared/datasets"

/// Whether a shared dataset file is present; when it is not, says the test is skipped.
func sharedFilePresent(_ path: String) -> Bool {
    if FileManager.default.fileExists(atPath: path) { return true }
    print("skipped: \(path) is absent (the shared datasets are not beside the repository)")
    return false
}

struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the built `retrace` binary in a fresh process, with extra `environment` variables
/// and optionally under a `launcher` command (e.g. `prlimit --fsize=N`).
func retrace(_ args: [String], in directory: String = packageRoot, environment: [String: String] = [:], launcher: [String] = []) throws -> CommandResult {
    let binary = packageRoot + "/.build/debug/retrace"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw CLITestError("\(binary) is missing: run 'swift build' (make test does) before the CLI tests")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: launcher.first ?? binary)
    p.arguments = launcher.isEmpty ? args : Array(launcher.dropFirst()) + [binary] + args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// The decompressed bytes of a `.gz` file (through the system's `gzip`, as the importer reads them).
func gunzip(_ path: String) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-dc", path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CLITestError("gzip -dc \(path) exited \(p.terminationStatus)") }
    return bytes
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func scratch(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "retrace-cli-\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeScratch(_ path: String) {
    do { try FileManager.default.removeItem(atPath: path) } catch { print("could not remove \(path): \(error)") }
}

/// Parses the JSON summary on stdout.
func summary(_ r: CommandResult) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { throw CLITestError("stdout is not one JSON object: \(r.stdout)") }
    return object
}

/// Rows of a CSV file with a header, as dictionaries (no quoted commas in our files' numeric columns).
func csvRows(_ path: String) throws -> [[String: String]] {
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
    let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    return lines.dropFirst().map { line in
        Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
    }
}

var sharedDataAvailable: Bool { FileManager.default.fileExists(atPath: sharedDatasets + "/bars/backtestingpy_GOOG_daily.csv") }
