@testable import GatewayCore

/// Loads a config from JSON text the way the gateway does at start-up (nil: no config file).
func loadConfig(_ json: String?, environment: [String: String] = [:]) throws(ConfigError) -> GatewayConfig {
    try ConfigLoader.load(json: json.map { Array($0.utf8) }, environment: environment)
}

/// The error start-up would refuse with, or nil when the config loads.
func configError(_ json: String?, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try loadConfig(json, environment: environment)
        return nil
    } catch {
        return error
    }
}
