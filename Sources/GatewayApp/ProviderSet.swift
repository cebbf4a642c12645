import GatewayCore
import GatewayLLM

/// Every configured deployment turned into a `ChatProvider`, keyed by deployment. All HTTP
/// deployments share one `HTTPStreamClient` (one curl multi handle on one thread), which
/// `shutdown()` stops.
struct ProviderSet: Sendable {
    let byDeployment: [DeploymentRef: any ChatProvider]
    private let descriptions: [String: String]
    private let client: HTTPStreamClient?

    /// API keys are read from `environment` here, by the variable the config names, and go no
    /// further than the provider's request headers: never into logs or descriptions.
    init(models: [String: ModelConfig], environment: [String: String]) throws(ConfigError) {
        var providers: [DeploymentRef: any ChatProvider] = [:]
        var descriptions: [String: String] = [:]
        let needsHTTP = models.values.contains { $0.deployments.contains { $0.provider != .demo } }
        let client = needsHTTP ? HTTPStreamClient(name: "chat-gateway-curl") : nil
        for (name, model) in models {
            var described: [String] = []
            for deployment in model.deployments {
                let ref = DeploymentRef(model: name, deployment: deployment.id)
                switch deployment.backend {
                case .demo(let demo):
                    providers[ref] = DemoProvider(tokensPerSecond: demo.tokensPerSecond, replyTokens: demo.tokens)
                    described.append("built-in demo model, \(demo.tokens) tokens at \(demo.tokensPerSecond) tokens/s")
                case .http(let kind, let http):
                    let apiKey = http.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
                    providers[ref] = try Self.httpProvider(kind, http, deployment: deployment, apiKey: apiKey, client: client!)
                    described.append("\(kind.rawValue) \(Self.withoutUserInfo(http.baseURL)) model \(http.model)"
                        + (apiKey == nil ? ", no API key" : ", API key from $\(http.apiKeyEnv!)"))
                }
            }
            descriptions[name] = described.joined(separator: "; ")
                + (model.fallbacks.isEmpty ? "" : "; falls back to \(model.fallbacks.joined(separator: ", "))")
        }
        self.byDeployment = providers
        self.descriptions = descriptions
        self.client = client
    }

    private static func httpProvider(_ kind: ProviderKind, _ http: HTTPUpstreamConfig, deployment: DeploymentConfig,
                                     apiKey: String?, client: HTTPStreamClient) throws(ConfigError) -> any ChatProvider {
        // The first-token and idle timeouts are the turn's (they count content); curl keeps these two.
        let settings = UpstreamConnectionSettings(connectTimeout: .milliseconds(deployment.timeouts.connectMillis),
                                                  totalTimeout: .seconds(deployment.timeouts.totalSeconds))
        switch kind {
        case .openai:
            let builder = OpenAIRequestBuilder(model: http.model, apiKey: apiKey, maxTokens: http.maxTokens,
                                               temperature: http.temperature)
            return UpstreamProvider(displayName: http.model, dialect: OpenAIDialect(baseURL: http.baseURL, builder: builder),
                                    settings: settings, client: client)
        case .anthropic:
            return AnthropicProvider(baseURL: http.baseURL, model: http.model, apiKey: apiKey, maxTokens: http.maxTokens,
                                     temperature: http.temperature, settings: settings, client: client)
        case .ollama:
            return OllamaProvider(baseURL: http.baseURL, model: http.model, apiKey: apiKey, maxTokens: http.maxTokens,
                                  temperature: http.temperature, settings: settings, client: client)
        case .demo:
            throw ConfigError(key: "llm.models.\(deployment.id)", problem: "the demo provider is not an HTTP upstream")
        }
    }

    /// `scheme://user:password@host/...` as `scheme://…@host/...`: credentials in a URL stay out of logs.
    static func withoutUserInfo(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + "…" + String(rest[at...])
    }

    func describe(_ name: String) -> String { descriptions[name] ?? "unknown model" }

    func shutdown() { client?.shutdown() }
}
