@testable import GatewayCore

/// Shorthands for config tests: most models in them have a single deployment.
extension ModelConfig {
    static func single(_ name: String, id: String? = nil, _ backend: DeploymentConfig.Backend,
                       fallbacks: [String] = []) -> ModelConfig {
        ModelConfig(name: name, deployments: [DeploymentConfig(id: id ?? name, backend: backend)], fallbacks: fallbacks)
    }

    var onlyDeployment: DeploymentConfig? { deployments.count == 1 ? deployments[0] : nil }

    var onlyDemo: DemoModelConfig? {
        if case .demo(let demo)? = onlyDeployment?.backend { return demo }
        return nil
    }

    var onlyHTTP: HTTPUpstreamConfig? {
        if case .http(_, let http)? = onlyDeployment?.backend { return http }
        return nil
    }
}
