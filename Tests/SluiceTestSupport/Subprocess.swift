import Foundation

/// The repository root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a command to completion (in the repository root unless told otherwise) and returns
/// its exit status and combined output.
public func run(_ executable: String, _ arguments: [String], in directory: URL = repositoryRoot) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    process.currentDirectoryURL = directory
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Reads records of (kind byte, varint length, bytes), as crosscheck.py writes them.
public func readRecords(_ data: [UInt8]) -> [(kind: UInt8, bytes: ArraySlice<UInt8>)] {
    var records: [(UInt8, ArraySlice<UInt8>)] = []
    var i = 0
    while i < data.count {
        let kind = data[i]
        i += 1
        var length = 0
        var shift = 0
        while true {
            let b = data[i]
            i += 1
            length |= Int(b & 0x7F) << shift
            shift += 7
            if b < 0x80 { break }
        }
        records.append((kind, data[i..<(i + length)]))
        i += length
    }
    return records
}

/// Appends a record in the same format.
public func appendRecord(_ kind: UInt8, _ bytes: [UInt8], to out: inout [UInt8]) {
    out.append(kind)
    var n = bytes.count
    while n >= 0x80 {
        out.append(UInt8(n & 0x7F) | 0x80)
        n >>= 7
    }
    out.append(UInt8(n))
    out += bytes
}
