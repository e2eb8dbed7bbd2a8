import Logging
import Synchronization

/// A swift-log handler that keeps every record, for tests that assert on what was logged.
public final class LogRecorder: Sendable {
    /// One log event.
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    private let records = Mutex<[Record]>([])

    public init() {}

    /// Everything logged so far.
    public var all: [Record] { records.withLock { $0 } }

    /// A logger writing here, at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ record: Record) {
        records.withLock { $0.append(record) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            for (key, value) in event.metadata ?? [:] { merged[key] = value }
            recorder.append(Record(level: event.level, message: "\(event.message)", metadata: merged))
        }
    }
}
