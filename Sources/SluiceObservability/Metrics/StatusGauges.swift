import CoreMetrics
import Sluice
import Synchronization

/// Gauges of what servers and channels are doing, taken from their status snapshots: open
/// connections and calls in flight on a server; on a channel its connectivity state, its
/// subchannels by state and each endpoint's circuit breaker (names in ``GRPCGaugeNames``).
///
/// Per-call instruments come from the metrics interceptors; these describe state, which no
/// call reports, so they are sampled: ``run(server:channels:every:)`` records snapshots at an
/// interval until its task is cancelled, or call ``record(_:)-(ServerStatusSnapshot)`` and
/// ``record(_:)-(ChannelStatusSnapshot)`` yourself (on each scrape, say).
///
/// States are exported as Prometheus does for enums: one series per state, 1 for the current
/// state and 0 for the others. A series once recorded and now absent (an endpoint the
/// resolver dropped) is set to 0 rather than left at its last value.
public final class StatusGauges: Sendable {
    private let factory: any MetricsFactory
    /// The label sets recorded by the last snapshot of each source (a server, or a channel's
    /// target), so that those it no longer has are zeroed.
    private let recorded = Mutex<[String: Set<Series>]>([:])

    /// One gauge series: its label and dimensions.
    struct Series: Hashable {
        var label: String
        var dimensions: [Dimension]

        struct Dimension: Hashable {
            var name: String
            var value: String
        }
    }

    /// - Parameter factory: The metrics backend; by default the one bootstrapped in
    ///   `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Records a server's connections and calls in flight (nothing if its transport does not
    /// report activity).
    public func record(_ snapshot: ServerStatusSnapshot) {
        var values: [Series: Int] = [:]
        if let transport = snapshot.transport {
            let address = [Series.Dimension(name: GRPCGaugeNames.serverAddress, value: transport.listeningAddress ?? "")]
            values[Series(label: GRPCGaugeNames.serverConnections, dimensions: address)] = transport.openConnections
            values[Series(label: GRPCGaugeNames.serverActiveCalls, dimensions: address)] = transport.callsInFlight
        }
        publish(values, source: "server")
    }

    /// Records a channel's state, its subchannels by state and its endpoints' circuit breakers.
    public func record(_ snapshot: ChannelStatusSnapshot) {
        let target = Series.Dimension(name: GRPCMetricNames.target, value: snapshot.target)
        var values: [Series: Int] = [:]
        for state in ConnectivityState.allNames {
            let dimensions = [target, Series.Dimension(name: GRPCGaugeNames.state, value: state)]
            values[Series(label: GRPCGaugeNames.channelState, dimensions: dimensions)] = snapshot.state == state ? 1 : 0
            values[Series(label: GRPCGaugeNames.subchannels, dimensions: dimensions)] =
                snapshot.subchannels.count { $0.state == state }
        }
        for subchannel in snapshot.subchannels {
            guard let breaker = subchannel.circuitBreaker else { continue }
            let endpoint = [target, Series.Dimension(name: GRPCGaugeNames.endpoint, value: subchannel.endpoint)]
            for state in ["CLOSED", "OPEN", "HALF_OPEN"] {
                let dimensions = endpoint + [Series.Dimension(name: GRPCGaugeNames.state, value: state)]
                values[Series(label: GRPCGaugeNames.circuitBreakerState, dimensions: dimensions)] = breaker.state == state ? 1 : 0
            }
            for (outcome, count) in [("successful", breaker.successful), ("failed", breaker.failed), ("rejected", breaker.rejected)] {
                let dimensions = endpoint + [Series.Dimension(name: GRPCGaugeNames.outcome, value: outcome)]
                values[Series(label: GRPCGaugeNames.circuitBreakerCalls, dimensions: dimensions)] = count
            }
        }
        publish(values, source: "channel " + snapshot.target)
    }

    /// Records the snapshots of `server` and `channels` now and then every `interval`, until
    /// the calling task is cancelled.
    public func run(server: GRPCServer? = nil, channels: [GRPCChannel] = [], every interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            if let server { record(server.statusSnapshot()) }
            for channel in channels { record(channel.statusSnapshot()) }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    private func publish(_ values: [Series: Int], source: String) {
        let stale = recorded.withLock { recorded in
            let previous = recorded[source] ?? []
            recorded[source] = Set(values.keys)
            return previous.subtracting(values.keys)
        }
        for series in stale { gauge(series).record(0) }
        for (series, value) in values { gauge(series).record(value) }
    }

    private func gauge(_ series: Series) -> Gauge {
        // The backend hands back the gauge it already has for the same label and dimensions.
        Gauge(label: series.label, dimensions: series.dimensions.map { ($0.name, $0.value) }, factory: factory)
    }
}

/// The gauges ``StatusGauges`` records, and their attributes. gRPC's specifications name no
/// such gauges; these follow its instruments' style (`grpc.` prefixes, dotted attributes).
public enum GRPCGaugeNames {
    /// A server's open connections.
    public static let serverConnections = "grpc.server.connections"
    /// A server's calls whose handlers are running.
    public static let serverActiveCalls = "grpc.server.active_calls"
    /// A channel's connectivity state: 1 for the current state, 0 for the others.
    public static let channelState = "grpc.client.channel.state"
    /// A channel's subchannels in each state.
    public static let subchannels = "grpc.client.channel.subchannels"
    /// An endpoint's circuit breaker state: 1 for the current state, 0 for the others.
    public static let circuitBreakerState = "grpc.client.circuit_breaker.state"
    /// An endpoint's circuit breaker counts in its monitoring period, by outcome.
    public static let circuitBreakerCalls = "grpc.client.circuit_breaker.calls"

    /// The address a server listens on.
    public static let serverAddress = "grpc.server.address"
    /// A connectivity or circuit state's name.
    public static let state = "grpc.state"
    /// An endpoint's addresses.
    public static let endpoint = "grpc.endpoint"
    /// `successful`, `failed` or `rejected`.
    public static let outcome = "grpc.outcome"
}

extension ConnectivityState {
    /// Every state's name, as snapshots write them.
    static var allNames: [String] {
        [ConnectivityState.idle, .connecting, .ready, .transientFailure, .shutdown].map(\.rawValue)
    }
}
