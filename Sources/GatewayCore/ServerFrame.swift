/// Frames the server sends that are not session events (docs/protocol.md, "Server → client").
public enum ServerFrame: Sendable, Equatable {
    case welcome(connectionID: String, node: String, user: String, role: String, tenant: String, heartbeatSeconds: Int)
    case joined(session: String, seq: Int, recovered: Bool)
    case ack(id: String, seq: Int)
    case error(ProtocolError, ref: String?)
    case snapshot(Snapshot)
    /// Not a session event: no seq, never replayed (docs/protocol.md, "Presence").
    case presence(PresenceUpdate)

    public func encode() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        switch self {
        case .welcome(let connectionID, let node, let user, let role, let tenant, let heartbeatSeconds):
            json.field("type", "welcome")
            json.field("connection_id", connectionID)
            json.field("node", node)
            json.field("user", user)
            json.field("role", role)
            json.field("tenant", tenant)
            json.field("heartbeat_s", heartbeatSeconds)
            json.field("protocol", "chat.v1")
        case .joined(let session, let seq, let recovered):
            json.field("type", "joined")
            json.field("session", session)
            json.field("seq", seq)
            json.field("recovered", recovered)
        case .ack(let id, let seq):
            json.field("type", "ack")
            json.field("id", id)
            json.field("seq", seq)
        case .error(let error, let ref):
            json.field("type", "error")
            json.field("code", error.code)
            json.field("message", error.message)
            json.fieldIfPresent("ref", ref)
            json.fieldIfPresent("retry_after_ms", error.retryAfterMillis)
        case .snapshot(let snapshot):
            snapshot.write(to: &json)
        case .presence(let update):
            json.field("type", "presence")
            json.field("session", update.session)
            json.field("event", update.event.rawValue)
            json.field("user", update.user)
            json.beginArray("users")
            for member in update.users {
                json.beginObject()
                json.field("user", member.user)
                json.field("role", member.role)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
        return json.bytes
    }
}
