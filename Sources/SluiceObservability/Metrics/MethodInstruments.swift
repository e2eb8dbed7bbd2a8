import CoreMetrics
import Sluice
import Synchronization

/// The instruments of every method a metrics interceptor has seen, made once each: a call
/// costs one dictionary lookup by its path when it starts and an array index by its status
/// code when it ends, with no dimension arrays or strings built per call.
final class MethodInstruments<ByStatus: Sendable>: Sendable {
    /// One method's instruments: its started counter, and those recorded by status.
    final class Entry: Sendable {
        let started: Counter
        private let byStatus: Mutex<[ByStatus?]>
        private let make: @Sendable (_ status: String) -> ByStatus

        init(started: Counter, make: @escaping @Sendable (_ status: String) -> ByStatus) {
            self.started = started
            self.make = make
            self.byStatus = Mutex([ByStatus?](repeating: nil, count: 17))
        }

        /// The instruments for calls that ended with `code`.
        func instruments(for code: StatusCode) -> ByStatus {
            byStatus.withLock { slots in
                if let instruments = slots[code.rawValue] { return instruments }
                let instruments = make("\(code)")
                slots[code.rawValue] = instruments
                return instruments
            }
        }
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let makeEntry: @Sendable (_ method: String) -> Entry

    /// - Parameter makeEntry: Makes a method's instruments from its `package.Service/Method`.
    init(makeEntry: @escaping @Sendable (_ method: String) -> Entry) {
        self.makeEntry = makeEntry
    }

    /// The instruments of `method`, made on its first call.
    func entry(for method: MethodDescriptor) -> Entry {
        entry(key: method.fullPath) { "\(method.service)/\(method.method)" }
    }

    /// The instruments recorded under `label` rather than a method's name (A66's `other`).
    /// Paths start with "/", so a label cannot collide with one.
    func entry(label: String) -> Entry {
        entry(key: label) { label }
    }

    private func entry(key: String, label: () -> String) -> Entry {
        entries.withLock { entries in
            if let entry = entries[key] { return entry }
            let entry = makeEntry(label())
            entries[key] = entry
            return entry
        }
    }
}
