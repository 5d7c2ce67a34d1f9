import Foundation
import Testing
@testable import RetraceEngine
@testable import RetraceJournal

@Suite("Run config")
struct RunConfigTests {
    @Test("every profile in Config/ loads; live extends hft with an fsync journal; backtest extends analytics")
    func profiles() throws {
        for name in ["hft", "analytics", "memory-constrained", "backtest", "live"] {
            let c = try RunConfig.load("Config/\(name).json")
            #expect(c.profile == name)
        }
        let live = try RunConfig.load("Config/live.json"), hft = try RunConfig.load("Config/hft.json")
        #expect(live.journal.syncMode == .fsync && hft.journal.syncMode == SyncMode.none)
        #expect(live.store.ringSlots == hft.store.ringSlots && live.pin == 1)
        #expect(live.store.giveUpSeconds == 600)
        let small = try RunConfig.load("Config/memory-constrained.json")
        #expect(small.store.ringSlots == 4096 && small.journal.segmentBytes == 8 << 20)
        #expect(small.params.first { $0.0 == "dedup_window" }?.1 == "4096")
        let backtest = try RunConfig.load("Config/backtest.json")
        #expect(backtest.store.maxDelay == 0.02 && backtest.store.giveUpSeconds == 60)
    }

    @Test("--set overrides a file's key, in milliseconds where the key says so; params pass through")
    func overrides() throws {
        let c = try RunConfig.load("Config/hft.json", sets: ["store.ring_slots=64", "store.max_delay_ms=2.5", "engine.pin=-1", "params.fast=7", "journal.io=posix"])
        #expect(c.store.ringSlots == 64)
        #expect(c.store.maxDelay == 0.0025)
        #expect(c.pin == nil)
        #expect(c.journal.io == .posix)
        #expect(c.params.contains { $0 == ("fast", "7") })
    }

    func failure(_ path: String?, _ sets: [String] = []) -> String {
        do { _ = try RunConfig.load(path, sets: sets); return "" } catch { return error.message }
    }

    @Test("unknown keys, wrong types, bad JSON and extends loops are errors naming the file and the key")
    func errors() throws {
        let dir = temporaryDirectory("config")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func file(_ name: String, _ text: String) throws -> String {
            let p = dir + "/" + name + ".json"
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }
        let unknown = failure(try file("unknown", #"{"store": {"ring_slot": 64}}"#))
        #expect(unknown.contains("unknown.json") && unknown.contains("unknown config key 'store.ring_slot'"))
        let wrong = failure(try file("wrong", #"{"journal": {"segment_bytes": "big"}}"#))
        #expect(wrong.contains("wrong.json") && wrong.contains("'journal.segment_bytes' must be an integer"))
        let flag = failure(try file("flag", #"{"store": {"ring_slots": true}}"#))
        #expect(flag.contains("'store.ring_slots' must be a power of two, got true"))
        let notObject = failure(try file("section", #"{"store": 5}"#))
        #expect(notObject.contains("key 'store' must be an object"))
        let broken = failure(try file("broken", #"{"store": "#))
        #expect(broken.contains("broken.json: not valid JSON at line 1, column 11 (unexpected end of file"), "\(broken)")
        // A syntax error is placed by line and column (an editor's), not by byte offset.
        let twice = failure(try file("twice", "{\"store\": {\"ring_slots\": 64},\n \"store\": {\"ring_slots\": 128}}"))
        #expect(twice.contains("twice.json: key 'store' appears twice (again at line 2, column 2)"), "\(twice)")
        let typo = failure(try file("typo", "{\n  \"journal\": {\n    \"segment_bytes\": 4096,\n    \"sync_mode\" \"none\"\n  }\n}\n"))
        #expect(typo.contains("typo.json: not valid JSON at line 4, column 17"), "\(typo)")
        _ = try file("a", #"{"extends": "b"}"#)
        let loop = failure(try file("b", #"{"extends": "a"}"#))
        #expect(loop.contains("loops back"))
        #expect(failure(nil, ["engine.pin=x"]).contains("'engine.pin' must be a CPU number"))
        #expect(failure(nil, ["journal.writeback_bytes=5000"]).contains("'journal.writeback_bytes' must be 0 or a multiple of 4096, got 5000"))
        #expect(try RunConfig.load(nil, sets: ["journal.writeback_bytes=0"]).journal.writebackBytes == 0)
        #expect(try RunConfig.load(nil, sets: ["journal.writeback_bytes=65536"]).journal.writebackBytes == 65536)
        #expect(failure(nil, ["journal.inputs=maybe"]).contains("'journal.inputs' must be reference or copy, got \"maybe\""))
        #expect(try RunConfig.load(nil).journal.inputsByReference)
        #expect(try !RunConfig.load(nil, sets: ["journal.inputs=copy"]).journal.inputsByReference)
        #expect(failure(nil, ["engine.read_ahead=yes"]).contains("'engine.read_ahead' must be auto, on or off, got \"yes\""))
        #expect(try RunConfig.load(nil).readAhead == .auto)
        #expect(try RunConfig.load(nil, sets: ["engine.read_ahead=on"]).readAhead.enabled)
        #expect(try !RunConfig.load(nil, sets: ["engine.read_ahead=off"]).readAhead.enabled)
        #expect(failure(nil, ["nodots"]).contains("--set expects key.path=value"))
        #expect(failure(dir + "/missing.json").contains("cannot read"))
    }
}

@Suite("JSON syntax errors")
struct JSONSyntaxTests {
    @Test("line and column of a byte offset: columns count characters, lines start after each newline")
    func position() {
        let data = Data("{\n \"é\": 1,\n x}".utf8)
        #expect(JSONSyntax.position(of: 0, in: data) == (1, 1))
        #expect(JSONSyntax.position(of: 2, in: data) == (2, 1))
        // "é" is two bytes and one column.
        #expect(JSONSyntax.position(of: 7, in: data) == (2, 5))
        #expect(JSONSyntax.position(of: data.count, in: data) == (3, 4))
        #expect(JSONSyntax.error(in: Data("{\"a\": [1, 2]}".utf8)) == nil)
    }

    @Test("a key twice in one object is named with its path and where it repeats; the same key in different objects is not")
    func duplicates() {
        func twice(_ s: String) -> String? { JSONSyntax.duplicateKey(in: Data(s.utf8)) }
        #expect(twice(#"{"journal": {"sync_mode": "fsync", "segment_bytes": 4096}, "store": {"sync_mode": 1}}"#) == nil)
        #expect(twice("{\"journal\": {\"sync_mode\": \"fsync\",\n  \"sync_mode\": \"none\"}}") == "key 'journal.sync_mode' appears twice (again at line 2, column 3)")
        #expect(twice(#"{"a": 1, "b": {"c": 2}, "a": 3}"#) == "key 'a' appears twice (again at line 1, column 25)")
        // Strings that are values, escaped quotes and keys of entries in a list.
        #expect(twice(#"{"d": "d", "e": "x"d"", "l": [{"s": 1}, {"s": 2}]}"#) == nil)
        #expect(twice(#"{"l": [{"s": 1, "t": [1, {"s": 0}], "s": 2}]}"#) == "key 'l.s' appears twice (again at line 1, column 37)")
    }
}
