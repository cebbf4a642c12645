import GatewayCore
import GatewayLLM

/// The configured models, each turned into a `ChatProvider`. All HTTP providers share one
/// `HTTPStreamClient` (one curl multi handle on one thread), which `shutdown()` stops.
struct ProviderSet: Sendable {
    let byName: [String: any ChatProvider]
    private let descriptions: [String: String]
    private let client: HTTPStreamClient?

    /// API keys are read from `environment` here, by the variable the config names, and go no
    /// further than the provider's request headers: never into logs or descriptions.
    init(models: [String: ModelConfig], environment: [String: String]) throws(ConfigError) {
        var providers: [String: any ChatProvider] = [:]
        var descriptions: [String: String] = [:]
        let needsHTTP = models.values.contains { if case .openai = $0 { true } else { false } }
        let client = needsHTTP ? HTTPStreamClient(name: "chat-gateway-curl") : nil
        for (name, model) in models {
            switch model {
            case .demo(let demo):
                providers[name] = DemoProvider(tokensPerSecond: demo.tokensPerSecond, replyTokens: demo.tokens)
                descriptions[name] = "built-in demo model, \(demo.tokens) tokens at \(demo.tokensPerSecond) tokens/s"
            case .openai(let openai):
                var apiKey: String?
                if let variable = openai.apiKeyEnv, let value = environment[variable], !value.isEmpty {
                    apiKey = value
                }
                let config = OpenAIProviderConfig(
                    baseURL: openai.baseURL, model: openai.model, apiKey: apiKey,
                    connectTimeout: .milliseconds(openai.connectTimeoutMillis),
                    totalTimeout: .seconds(openai.timeoutSeconds),
                    maxTokens: openai.maxTokens, temperature: openai.temperature)
                providers[name] = OpenAIProvider(config: config, client: client!)
                descriptions[name] = "OpenAI-compatible \(openai.baseURL) model \(openai.model)"
                    + (apiKey == nil ? ", no API key" : ", API key from $\(openai.apiKeyEnv!)")
            }
        }
        self.byName = providers
        self.descriptions = descriptions
        self.client = client
    }

    func describe(_ name: String) -> String { descriptions[name] ?? "unknown model" }

    func shutdown() { client?.shutdown() }
}
