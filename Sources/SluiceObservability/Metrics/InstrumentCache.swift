import CoreMetrics
import Synchronization

/// Instruments made once per label and dimensions, then reused: making one per call would
/// ask the backend (and allocate) on every call.
final class InstrumentCache: Sendable {
    private struct Key: Hashable {
        let label: String
        let dimensions: [String]
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Timer]>([:])
    private let recorders = Mutex<[Key: Recorder]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        Self.cached(in: counters, label, dimensions) { Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        Self.cached(in: timers, label, dimensions) { Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    /// A histogram of values (message sizes in bytes).
    func histogram(_ label: String, _ dimensions: [(String, String)]) -> Recorder {
        Self.cached(in: recorders, label, dimensions) {
            Recorder(label: label, dimensions: dimensions, aggregate: true, factory: factory)
        }
    }

    private static func cached<Instrument>(in cache: borrowing Mutex<[Key: Instrument]>, _ label: String,
                                           _ dimensions: [(String, String)], make: () -> Instrument) -> Instrument {
        let key = Key(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        return cache.withLock { cache in
            if let instrument = cache[key] { return instrument }
            let instrument = make()
            cache[key] = instrument
            return instrument
        }
    }
}
