/// A frame from a client, decoded and validated (docs/protocol.md, "Client → server").
public enum ClientFrame: Sendable, Equatable {
    /// `tenant` groups users for budgets and limits; without auth it is taken as the client says.
    /// `user` and `role` name the client when no auth is configured (taken as given, like `tenant`).
    case hello(token: String?, client: String?, tenant: String?, user: String? = nil, role: String? = nil)
    case join(session: String, afterSeq: Int?)
    case message(session: String, id: String, text: String)
    case stop(session: String)
    case leave(session: String)
    /// The user is typing in the session: fanned out as a presence `typing` event (throttled).
    case typing(session: String)

    /// Limits on identifiers so that one client cannot make keys of unbounded size.
    public static let maxSessionIDBytes = 128
    public static let maxMessageIDBytes = 128
    public static let maxTenantBytes = 64
    public static let maxUserBytes = 64
    /// End users, support agents (desk), admins (monitoring).
    public static let roles = ["user", "agent", "admin"]

    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> ClientFrame {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch { throw .badRequest("\(error)") }
        guard case .object = value else { throw .badRequest("a frame must be a JSON object") }
        let fields = FrameFields(value)
        let type = try fields.requiredString("type")
        switch type {
        case "hello":
            let tenant = try fields.optionalString("tenant")
            if let tenant, tenant.isEmpty || tenant.utf8.count > maxTenantBytes || tenant.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) {
                throw .badRequest("field 'tenant' must be 1 to \(maxTenantBytes) bytes without spaces or control characters")
            }
            let user = try fields.optionalString("user")
            if let user, user.isEmpty || user.utf8.count > maxUserBytes || user.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) {
                throw .badRequest("field 'user' must be 1 to \(maxUserBytes) bytes without spaces or control characters")
            }
            let role = try fields.optionalString("role")
            if let role, !Self.roles.contains(role) {
                throw .badRequest("field 'role' must be one of \(Self.roles.joined(separator: ", "))")
            }
            return .hello(token: try fields.optionalString("token"), client: try fields.optionalString("client"), tenant: tenant,
                          user: user, role: role)
        case "join":
            let session = try fields.sessionID()
            let afterSeq = try fields.optionalInt("after_seq")
            if let afterSeq, afterSeq < 0 { throw .badRequest("field 'after_seq' must be >= 0") }
            return .join(session: session, afterSeq: afterSeq)
        case "message":
            let session = try fields.sessionID()
            let id = try fields.requiredString("id")
            guard !id.isEmpty, id.utf8.count <= maxMessageIDBytes else {
                throw .badRequest("field 'id' must be 1 to \(maxMessageIDBytes) bytes")
            }
            let text = try fields.requiredString("text")
            guard !text.isEmpty else { throw .badRequest("field 'text' must not be empty") }
            return .message(session: session, id: id, text: text)
        case "stop":
            return .stop(session: try fields.sessionID())
        case "leave":
            return .leave(session: try fields.sessionID())
        case "typing":
            return .typing(session: try fields.sessionID())
        default:
            throw .badRequest("unknown frame type '\(type.prefix(64))'")
        }
    }
}

/// Typed access to a frame's fields with errors that name the field.
private struct FrameFields {
    let value: JSONValue
    init(_ value: JSONValue) { self.value = value }

    func requiredString(_ key: String) throws(ProtocolError) -> String {
        guard let field = value[key] else { throw .badRequest("missing field '\(key)'") }
        guard case .string(let text) = field else { throw .badRequest("field '\(key)' must be a string, not \(field.typeName)") }
        return text
    }

    func optionalString(_ key: String) throws(ProtocolError) -> String? {
        guard let field = value[key], field != .null else { return nil }
        guard case .string(let text) = field else { throw .badRequest("field '\(key)' must be a string, not \(field.typeName)") }
        return text
    }

    func optionalInt(_ key: String) throws(ProtocolError) -> Int? {
        guard let field = value[key], field != .null else { return nil }
        guard case .int(let number) = field else { throw .badRequest("field '\(key)' must be an integer, not \(field.typeName)") }
        return number
    }

    func sessionID() throws(ProtocolError) -> String {
        let session = try requiredString("session")
        guard !session.isEmpty, session.utf8.count <= ClientFrame.maxSessionIDBytes else {
            throw .badRequest("field 'session' must be 1 to \(ClientFrame.maxSessionIDBytes) bytes")
        }
        guard session.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw .badRequest("field 'session' must not contain spaces or control characters")
        }
        return session
    }
}
