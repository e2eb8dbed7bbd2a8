import Sluice
import SluiceProto
import Testing

@Suite("Service config (gRFC A2, A6)")
struct ServiceConfigTests {
    @Test("the examples of gRFC A2 and A6 parse")
    func examples() throws {
        let config = try ServiceConfig(json: """
            {
              "loadBalancingConfig": [ { "round_robin": {} } ],
              "methodConfig": [
                {
                  "name": [ { "service": "foo", "method": "bar" }, { "service": "baz" } ],
                  "timeout": "1.000000001s",
                  "waitForReady": true,
                  "maxRequestMessageBytes": 1024,
                  "maxResponseMessageBytes": "2048"
                },
                {
                  "name": [ { "service": "EchoService" } ],
                  "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": [ "UNAVAILABLE", 4 ]
                  }
                },
                {
                  "name": [ { "service": "HedgedService" } ],
                  "hedgingPolicy": {
                    "maxAttempts": 7,
                    "hedgingDelay": "0.5s",
                    "nonFatalStatusCodes": [ "UNAVAILABLE", "INTERNAL", "ABORTED" ]
                  }
                },
                { "name": [ {} ], "timeout": "30s" }
              ],
              "retryThrottling": { "maxTokens": 10, "tokenRatio": 0.1234 },
              "healthCheckConfig": { "serviceName": "grpc.health.v1.Health" }
            }
            """)
        #expect(config.loadBalancingConfig == [.roundRobin])
        #expect(config.methodConfig.count == 4)
        let first = config.methodConfig[0]
        #expect(first.timeout == .seconds(1) + .nanoseconds(1))
        #expect(first.waitForReady == true)
        #expect(first.maxRequestMessageBytes == 1024)
        #expect(first.maxResponseMessageBytes == 2048)
        #expect(config.methodConfig[1].executionPolicy == .retry(RetryPolicy(
            maxAttempts: 4, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1), backoffMultiplier: 2,
            retryableStatusCodes: [.unavailable, .deadlineExceeded])))
        // maxAttempts above 5 is taken as 5 (A6).
        #expect(config.methodConfig[2].executionPolicy == .hedging(HedgingPolicy(
            maxAttempts: 5, hedgingDelay: .milliseconds(500), nonFatalStatusCodes: [.unavailable, .internal, .aborted])))
        #expect(config.retryThrottling == RetryThrottling(maxTokens: 10, tokenRatio: 0.123))
        #expect(config.healthCheckConfig?.serviceName == "grpc.health.v1.Health")
    }

    @Test("the most specific method config applies: method, then service, then the default")
    func mostSpecific() throws {
        let config = try ServiceConfig(json: """
            {"methodConfig": [
              {"name": [{}], "timeout": "30s"},
              {"name": [{"service": "svc"}], "timeout": "10s"},
              {"name": [{"service": "svc", "method": "Get"}], "timeout": "1s"}
            ]}
            """)
        func timeout(_ service: String, _ method: String) -> Duration? {
            config.methodConfig(for: MethodDescriptor(service: service, method: method, kind: .unary))?.timeout
        }
        #expect(timeout("svc", "Get") == .seconds(1))
        #expect(timeout("svc", "Put") == .seconds(10))
        #expect(timeout("other", "Get") == .seconds(30))
        #expect(ServiceConfig().methodConfig(for: MethodDescriptor(service: "a", method: "b", kind: .unary)) == nil)
    }

    @Test("pick_first with shuffling; the first known policy wins; the deprecated loadBalancingPolicy")
    func policies() throws {
        #expect(try ServiceConfig(json: #"{"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}]}"#)
            .loadBalancingConfig == [.pickFirst(shuffleAddressList: true)])
        #expect(try ServiceConfig(json: #"{"loadBalancingConfig": [{"xds_experimental": {}}, {"round_robin": {}}]}"#)
            .loadBalancingConfig == [.roundRobin])
        #expect(try ServiceConfig(json: #"{"loadBalancingPolicy": "round_robin"}"#).loadBalancingConfig == [.roundRobin])
        let custom = try ServiceConfig(json: #"{"loadBalancingConfig": [{"weighted": {"zone": "a"}}]}"#,
                                       knownPolicies: ServiceConfig.builtInPolicies.union(["weighted"]))
        #expect(custom.loadBalancingConfig == [.custom(name: "weighted", config: .object([("zone", .string("a"))]))])
    }

    @Test("invalid configs are rejected with the field's path", arguments: [
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 1, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
         "$.methodConfig[0].retryPolicy.maxAttempts", "must be at least 2"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1.5", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
         "$.methodConfig[0].retryPolicy.initialBackoff", "'1.5' is not a duration"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}, "hedgingPolicy": {"maxAttempts": 2}}]}"#,
         "$.methodConfig[0]", "not both"),
        (#"{"loadBalancingConfig": [{"weighted_target_nope": {}}]}"#, "$.loadBalancingConfig", "is known"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": []}}]}"#,
         "$.methodConfig[0].retryPolicy.retryableStatusCodes", "at least one"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILBLE"]}}]}"#,
         "$.methodConfig[0].retryPolicy.retryableStatusCodes[0]", "'UNAVAILBLE' is not a status code name"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolicy": {"maxAttempts": 2, "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [14]}}]}"#,
         "$.methodConfig[0].retryPolicy.initialBackoff", "is required"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "retryPolcy": {}}]}"#, "$.methodConfig[0].retryPolcy", "unknown field"),
        (#"{"methodConfig": [{"name": [{"method": "m"}]}]}"#, "$.methodConfig[0].name[0].method", "a method needs its service"),
        (#"{"methodConfig": [{"name": [{"service": "s"}]}, {"name": [{"service": "s"}]}]}"#, "$.methodConfig[1].name[0]", "earlier method config"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "timeout": 5}]}"#, "$.methodConfig[0].timeout", "expected a duration string"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "waitForReady": "yes"}]}"#, "$.methodConfig[0].waitForReady", "expected true or false"),
        (#"{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}"#, "$.retryThrottling.maxTokens", "must be above 0"),
        (#"{"methodConfig": [}"#, "$", "invalid JSON at byte 18"),
        (#"[]"#, "$", "expected an object, found an array"),
        (#"{"methodConfig": [{"name": [{"service": "s"}], "timeout": "1.0000000001s"}]}"#, "$.methodConfig[0].timeout", "is not a duration"),
    ])
    func invalid(json: String, path: String, problem: String) {
        do {
            _ = try ServiceConfig(json: json)
            Issue.record("accepted: \(json)")
        } catch let error as ServiceConfigError {
            #expect(error.path == path, "\(error)")
            #expect(error.problem.contains(problem), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
