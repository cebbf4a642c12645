/// Which server a load run measures. Every kind speaks chat.v1 as far as chat-bench uses it, so
/// the same load generator drives them all.
public enum ServerKind: String, Sendable, CaseIterable {
    /// chat-gateway itself.
    case gateway
    /// `bench/lws-ceiling`: a minimal libwebsockets broadcast server in C (no session log, no JSON
    /// work), the ceiling of what the base library does on this machine.
    case lwsCeiling = "lws-ceiling"

    var howToBuild: String {
        switch self {
        case .gateway: return "build it, or pass --gateway or --url/--pid"
        case .lwsCeiling: return "make bench-ceiling builds it, or pass --ceiling"
        }
    }
}
