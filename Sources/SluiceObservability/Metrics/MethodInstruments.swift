import CoreMetrics
import Sluice
import Synchronization

/// The instruments of every method a metrics interceptor has seen, made once each: a call
/// costs one dictionary lookup by its path when it starts and an array index by its status
/// code when it ends, with no dimension arrays or strings built per call.
final class MethodInstruments<PerMethod: Sendable, ByStatus: Sendable>: Sendable {
    /// One method's instruments: those without a status (its started counter), and those
    /// recorded by status.
    final class Entry: Sendable {
        let perMethod: PerMethod
        private let byStatus: Mutex<[ByStatus?]>
        private let make: @Sendable (_ status: String) -> ByStatus

        /// OK's instruments, made with the entry: most calls end OK, and then find theirs
        /// without taking a lock.
        private let ok: ByStatus

        init(_ perMethod: PerMethod, byStatus make: @escaping @Sendable (_ status: String) -> ByStatus) {
            self.perMethod = perMethod
            self.make = make
            self.ok = make("\(StatusCode.ok)")
            self.byStatus = Mutex([ByStatus?](repeating: nil, count: 17))
        }

        /// The instruments for calls that ended with `code`.
        func instruments(for code: StatusCode) -> ByStatus {
            if code == .ok { return ok }
            return byStatus.withLock { slots in
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

/// An instrument made on first use, so that one never used exports no empty series.
final class LazyInstrument<Instrument: Sendable>: Sendable {
    private let made = Mutex<Instrument?>(nil)
    private let make: @Sendable () -> Instrument

    init(_ make: @escaping @Sendable () -> Instrument) {
        self.make = make
    }

    var instrument: Instrument {
        made.withLock { made in
            if let made { return made }
            let instrument = make()
            made = instrument
            return instrument
        }
    }
}
