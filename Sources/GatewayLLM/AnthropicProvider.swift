import GatewayCore

/// Anthropic Messages API upstream (Anthropic, llama.cpp's `/v1/messages`).
public typealias AnthropicProvider = UpstreamProvider<AnthropicDialect>

extension UpstreamProvider where Dialect == AnthropicDialect {
    /// `baseURL` is the host root (`https://api.anthropic.com`, `http://127.0.0.1:8081`); `apiKey`
    /// is sent as `x-api-key`; `maxTokens` defaults to `AnthropicRequestBuilder.defaultMaxTokens`
    /// on the wire because the API requires one; `displayName` defaults to `model`.
    public convenience init(baseURL: String, model: String, apiKey: String? = nil, maxTokens: Int? = nil,
                            temperature: Double? = nil, displayName: String? = nil,
                            settings: UpstreamConnectionSettings = UpstreamConnectionSettings(),
                            client: HTTPStreamClient) {
        let builder = AnthropicRequestBuilder(model: model, apiKey: apiKey, maxTokens: maxTokens, temperature: temperature)
        self.init(displayName: displayName ?? model, dialect: AnthropicDialect(baseURL: baseURL, builder: builder),
                  settings: settings, client: client)
    }
}
