import GatewayCore

/// What the presence scripts publish on a session's channel: one change, which may move several
/// users at once (a sweep, a re-registration), and the roster after it. JSON from Lua's cjson:
/// `{"e":"join|leave|typing","s":[[user,role],…],"m":[[user,role],…],"v":"VERSION"}` (cjson
/// writes an empty list as `{}`; the version is a string because cjson would round it).
struct PresenceMessage: Sendable, Equatable {
    let version: Int64
    let event: PresenceUpdate.Event
    let subjects: [PresenceMember]
    let users: [PresenceMember]

    init(version: Int64, event: PresenceUpdate.Event, subjects: [PresenceMember], users: [PresenceMember]) {
        self.version = version
        self.event = event
        self.subjects = subjects
        self.users = users
    }

    /// nil for a payload that is not one (it is dropped: a node ignores what it cannot read).
    init?(_ payload: [UInt8]) {
        guard let value = try? JSONValue.parse(payload),
              case .string(let eventName)? = value["e"], let event = PresenceUpdate.Event(rawValue: eventName),
              case .string(let versionText)? = value["v"], let version = Int64(versionText),
              let subjects = Self.members(value["s"]), let users = Self.members(value["m"]) else { return nil }
        self.init(version: version, event: event, subjects: subjects, users: users)
    }

    private static func members(_ value: JSONValue?) -> [PresenceMember]? {
        switch value {
        case .object(let fields)? where fields.isEmpty:
            return []
        case .array(let items)?:
            var members: [PresenceMember] = []
            for item in items {
                guard case .array(let pair) = item, pair.count == 2,
                      case .string(let user) = pair[0], case .string(let role) = pair[1] else { return nil }
                members.append(PresenceMember(user: user, role: role))
            }
            return members
        default:
            return nil
        }
    }
}
