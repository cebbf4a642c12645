import GatewayCore

/// Ollama native `/api/chat` upstream.
public typealias OllamaProvider = UpstreamProvider<OllamaDialect>

extension UpstreamProvider where Dialect == OllamaDialect {
    /// `baseURL` is the server root (`http://127.0.0.1:11434`); `apiKey`, when set, is sent as a
    /// Bearer token (ollama.com, authenticating proxies); `maxTokens` becomes `options.num_predict`;
    /// `displayName` defaults to `model`.
    public convenience init(baseURL: String, model: String, apiKey: String? = nil, maxTokens: Int? = nil,
                            temperature: Double? = nil, displayName: String? = nil,
                            settings: UpstreamConnectionSettings = UpstreamConnectionSettings(),
                            client: HTTPStreamClient) {
        let builder = OllamaRequestBuilder(model: model, apiKey: apiKey, maxTokens: maxTokens, temperature: temperature)
        self.init(displayName: displayName ?? model, dialect: OllamaDialect(baseURL: baseURL, builder: builder),
                  settings: settings, client: client)
    }
}
