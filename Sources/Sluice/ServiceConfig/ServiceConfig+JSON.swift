import SluiceProto

extension ServiceConfig {
    /// The policies a channel knows without registering any.
    public static let builtInPolicies: Set<String> = ["pick_first", "round_robin"]

    /// Parses the JSON form of a service config (gRFC A2, as `grpc.service_config.ServiceConfig`
    /// maps to JSON), checking what A2 and A6 require.
    ///
    /// - Parameters:
    ///   - json: The service config document.
    ///   - knownPolicies: The load-balancing policies the channel can build; a
    ///     `loadBalancingConfig` naming none of them is an error.
    /// - Throws: ``ServiceConfigError`` naming the field: bad JSON, an unknown field, a wrong
    ///   type, a bad duration (`"1.5"` without `s`), `maxAttempts` below 2, a method with both
    ///   a retry and a hedging policy, a name given twice.
    public init(json: String, knownPolicies: Set<String> = ServiceConfig.builtInPolicies) throws {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: json)
        } catch let error as JSONParsingError {
            throw ServiceConfigError(path: "$", problem: "\(error)")
        }
        try self.init(document: document, knownPolicies: knownPolicies)
    }

    /// Reads a parsed service config, as ``init(json:knownPolicies:)`` does.
    public init(document: JSONValue, knownPolicies: Set<String> = ServiceConfig.builtInPolicies) throws {
        var root = try ConfigObject(document, path: "$")
        self.init()
        if let value = try root.take("loadBalancingConfig") {
            loadBalancingConfig = try Self.policies(value, path: "$.loadBalancingConfig", known: knownPolicies)
        }
        if let value = try root.take("loadBalancingPolicy") {
            // The deprecated form: a policy name.
            let path = "$.loadBalancingPolicy"
            let name = try value.string(path)
            guard loadBalancingConfig.isEmpty else {
                throw ServiceConfigError(path: path, problem: "give loadBalancingConfig or loadBalancingPolicy, not both")
            }
            guard knownPolicies.contains(name) else {
                throw ServiceConfigError(path: path, problem: "unknown load-balancing policy '\(name)'")
            }
            loadBalancingConfig = [try Self.policy(name: name, config: .object([]), path: path)]
        }
        if let value = try root.take("methodConfig") {
            let entries = try value.array("$.methodConfig")
            var seen = Set<MethodConfig.Name>()
            for (index, entry) in entries.enumerated() {
                let config = try Self.methodConfig(entry, path: "$.methodConfig[\(index)]")
                for (nameIndex, name) in config.names.enumerated() where !seen.insert(name).inserted {
                    throw ServiceConfigError(path: "$.methodConfig[\(index)].name[\(nameIndex)]",
                                             problem: "\(name.service)/\(name.method ?? "") is named by an earlier method config too")
                }
                methodConfig.append(config)
            }
        }
        if let value = try root.take("retryThrottling") {
            var object = try ConfigObject(value, path: "$.retryThrottling")
            let maxTokens = try object.require("maxTokens").double(object.path("maxTokens"))
            let tokenRatio = try object.require("tokenRatio").double(object.path("tokenRatio"))
            guard maxTokens > 0 else { throw ServiceConfigError(path: object.path("maxTokens"), problem: "must be above 0") }
            guard tokenRatio > 0 else { throw ServiceConfigError(path: object.path("tokenRatio"), problem: "must be above 0") }
            try object.finish()
            retryThrottling = RetryThrottling(maxTokens: maxTokens, tokenRatio: tokenRatio)
        }
        if let value = try root.take("healthCheckConfig") {
            var object = try ConfigObject(value, path: "$.healthCheckConfig")
            let name = try object.take("serviceName")?.string(object.path("serviceName")) ?? ""
            try object.finish()
            healthCheckConfig = HealthCheckConfig(serviceName: name)
        }
        try root.finish()
    }

    private static func policies(_ value: JSONValue, path: String, known: Set<String>) throws -> [LoadBalancingConfig] {
        let entries = try value.array(path)
        var result: [LoadBalancingConfig] = []
        var names: [String] = []
        for (index, entry) in entries.enumerated() {
            let entryPath = "\(path)[\(index)]"
            guard case .object(let members) = entry, members.count == 1, let member = members.first else {
                throw ServiceConfigError(path: entryPath, problem: "each entry must be an object with exactly one policy name")
            }
            names.append(member.name)
            // Policies the channel cannot build are skipped, as A2 says: the first known wins.
            guard known.contains(member.name) else { continue }
            result.append(try policy(name: member.name, config: member.value, path: "\(entryPath).\(member.name)"))
        }
        guard !result.isEmpty || entries.isEmpty else {
            throw ServiceConfigError(path: path, problem: "none of the policies \(names) is known (known: \(known.sorted().joined(separator: ", ")))")
        }
        return result
    }

    private static func policy(name: String, config: JSONValue, path: String) throws -> LoadBalancingConfig {
        switch name {
        case "pick_first":
            var object = try ConfigObject(config, path: path)
            let shuffle = try object.take("shuffleAddressList")?.bool(object.path("shuffleAddressList")) ?? false
            try object.finish()
            return .pickFirst(shuffleAddressList: shuffle)
        case "round_robin":
            let object = try ConfigObject(config, path: path)
            try object.finish()
            return .roundRobin
        default:
            return .custom(name: name, config: config)
        }
    }

    private static func methodConfig(_ value: JSONValue, path: String) throws -> MethodConfig {
        var object = try ConfigObject(value, path: path)
        var names: [MethodConfig.Name] = []
        if let nameValue = try object.take("name") {
            for (index, entry) in try nameValue.array(object.path("name")).enumerated() {
                let namePath = "\(path).name[\(index)]"
                var name = try ConfigObject(entry, path: namePath)
                let service = try name.take("service")?.string(name.path("service")) ?? ""
                let method = try name.take("method")?.string(name.path("method"))
                try name.finish()
                if let method, !method.isEmpty, service.isEmpty {
                    throw ServiceConfigError(path: "\(namePath).method", problem: "a method needs its service")
                }
                names.append(MethodConfig.Name(service: service, method: method?.isEmpty == true ? nil : method))
            }
        }
        var config = MethodConfig(names: names)
        config.waitForReady = try object.take("waitForReady")?.bool(object.path("waitForReady"))
        config.timeout = try object.take("timeout")?.duration(object.path("timeout"))
        config.maxRequestMessageBytes = try object.take("maxRequestMessageBytes")?.count(object.path("maxRequestMessageBytes"))
        config.maxResponseMessageBytes = try object.take("maxResponseMessageBytes")?.count(object.path("maxResponseMessageBytes"))
        let retry = try object.take("retryPolicy")
        let hedging = try object.take("hedgingPolicy")
        switch (retry, hedging) {
        case (.some, .some):
            throw ServiceConfigError(path: path, problem: "a method config may have a retryPolicy or a hedgingPolicy, not both")
        case (let retry?, nil):
            config.executionPolicy = .retry(try retryPolicy(retry, path: object.path("retryPolicy")))
        case (nil, let hedging?):
            config.executionPolicy = .hedging(try hedgingPolicy(hedging, path: object.path("hedgingPolicy")))
        case (nil, nil):
            break
        }
        try object.finish()
        return config
    }

    private static func retryPolicy(_ value: JSONValue, path: String) throws -> RetryPolicy {
        var object = try ConfigObject(value, path: path)
        let maxAttempts = try attempts(object.require("maxAttempts"), path: object.path("maxAttempts"))
        let initial = try object.require("initialBackoff").duration(object.path("initialBackoff"))
        let maximum = try object.require("maxBackoff").duration(object.path("maxBackoff"))
        let multiplier = try object.require("backoffMultiplier").double(object.path("backoffMultiplier"))
        let codes = try statusCodes(object.require("retryableStatusCodes"), path: object.path("retryableStatusCodes"))
        guard initial > .zero else { throw ServiceConfigError(path: object.path("initialBackoff"), problem: "must be above 0s") }
        guard maximum > .zero else { throw ServiceConfigError(path: object.path("maxBackoff"), problem: "must be above 0s") }
        guard multiplier > 0 else { throw ServiceConfigError(path: object.path("backoffMultiplier"), problem: "must be above 0") }
        guard !codes.isEmpty else { throw ServiceConfigError(path: object.path("retryableStatusCodes"), problem: "must name at least one status code") }
        try object.finish()
        return RetryPolicy(maxAttempts: maxAttempts, initialBackoff: initial, maxBackoff: maximum,
                           backoffMultiplier: multiplier, retryableStatusCodes: codes)
    }

    private static func hedgingPolicy(_ value: JSONValue, path: String) throws -> HedgingPolicy {
        var object = try ConfigObject(value, path: path)
        let maxAttempts = try attempts(object.require("maxAttempts"), path: object.path("maxAttempts"))
        let delay = try object.take("hedgingDelay")?.duration(object.path("hedgingDelay")) ?? .zero
        let codes = try object.take("nonFatalStatusCodes").map { try statusCodes($0, path: object.path("nonFatalStatusCodes")) } ?? []
        try object.finish()
        return HedgingPolicy(maxAttempts: maxAttempts, hedgingDelay: delay, nonFatalStatusCodes: codes)
    }

    private static func attempts(_ value: JSONValue, path: String) throws -> Int {
        let count = try value.count(path)
        guard count >= 2 else { throw ServiceConfigError(path: path, problem: "must be at least 2 (the first attempt counts), not \(count)") }
        return count
    }

    private static func statusCodes(_ value: JSONValue, path: String) throws -> Set<StatusCode> {
        var codes = Set<StatusCode>()
        for (index, entry) in try value.array(path).enumerated() {
            let entryPath = "\(path)[\(index)]"
            switch entry {
            case .string(let name):
                guard let code = StatusCode.allCases.first(where: { $0.description == name.uppercased() }) else {
                    throw ServiceConfigError(path: entryPath, problem: "'\(name)' is not a status code name (such as UNAVAILABLE)")
                }
                codes.insert(code)
            case .number(let text):
                guard let number = Int(text), let code = StatusCode(rawValue: number) else {
                    throw ServiceConfigError(path: entryPath, problem: "\(text) is not a status code (0 to 16)")
                }
                codes.insert(code)
            default:
                throw ServiceConfigError(path: entryPath, problem: "expected a status code name or number, found \(entry.kindDescription)")
            }
        }
        return codes
    }
}

/// A JSON object being read: takes members by name and fails on any left over, so a typo is
/// an error that names it.
struct ConfigObject {
    private var members: [(name: String, value: JSONValue)]
    let base: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let members) = value else {
            throw ServiceConfigError(path: path, problem: "expected an object, found \(value.kindDescription)")
        }
        var seen = Set<String>()
        for member in members where !seen.insert(member.name).inserted {
            throw ServiceConfigError(path: "\(path).\(member.name)", problem: "given twice")
        }
        self.members = members
        self.base = path
    }

    func path(_ name: String) -> String { "\(base).\(name)" }

    /// The member `name`, removed; nil when absent (a JSON null counts as absent).
    mutating func take(_ name: String) throws -> JSONValue? {
        guard let index = members.firstIndex(where: { $0.name == name }) else { return nil }
        let value = members.remove(at: index).value
        if case .null = value { return nil }
        return value
    }

    mutating func require(_ name: String) throws -> JSONValue {
        guard let value = try take(name) else { throw ServiceConfigError(path: path(name), problem: "is required") }
        return value
    }

    /// Fails if a member was not taken.
    func finish() throws {
        if let extra = members.first { throw ServiceConfigError(path: path(extra.name), problem: "unknown field") }
    }
}

extension JSONValue {
    func string(_ path: String) throws -> String {
        guard case .string(let value) = self else { throw mismatch(path, "a string") }
        return value
    }

    func bool(_ path: String) throws -> Bool {
        guard case .bool(let value) = self else { throw mismatch(path, "true or false") }
        return value
    }

    func array(_ path: String) throws -> [JSONValue] {
        guard case .array(let values) = self else { throw mismatch(path, "an array") }
        return values
    }

    func double(_ path: String) throws -> Double {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { throw mismatch(path, "a number") }
        return value
    }

    /// A non-negative integer, as a JSON number or (for 64-bit fields) a string of digits.
    func count(_ path: String) throws -> Int {
        let text: String
        switch self {
        case .number(let number): text = number
        case .string(let string): text = string
        default: throw mismatch(path, "a whole number")
        }
        guard let value = Int(text) ?? Double(text).flatMap({ $0.rounded() == $0 && abs($0) < 9e18 ? Int($0) : nil }) else {
            throw ServiceConfigError(path: path, problem: "'\(text)' is not a whole number")
        }
        guard value >= 0 else { throw ServiceConfigError(path: path, problem: "must not be negative") }
        return value
    }

    /// A protobuf JSON duration: `"1s"`, `"0.25s"`, `"-1.000000001s"`.
    func duration(_ path: String) throws -> Duration {
        guard case .string(let text) = self else { throw mismatch(path, "a duration string such as \"1.5s\"") }
        guard let duration = Self.parseDuration(text) else {
            throw ServiceConfigError(path: path, problem: "'\(text)' is not a duration: write seconds with an 's', such as \"1.5s\"")
        }
        return duration
    }

    static func parseDuration(_ text: String) -> Duration? {
        guard text.hasSuffix("s") else { return nil }
        var body = Substring(text.dropLast())
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCII),
              whole.allSatisfy(\.isNumber), whole.count <= 12, let seconds = Int64(whole) else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...9).contains(fraction.count), fraction.allSatisfy(\.isASCII), fraction.allSatisfy(\.isNumber),
                  let digits = Int64(fraction) else { return nil }
            nanos = digits * Int64([1, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1][fraction.count])
        }
        let duration = Duration.seconds(seconds) + .nanoseconds(nanos)
        return negative ? .zero - duration : duration
    }

    private func mismatch(_ path: String, _ expected: String) -> ServiceConfigError {
        ServiceConfigError(path: path, problem: "expected \(expected), found \(kindDescription)")
    }
}
