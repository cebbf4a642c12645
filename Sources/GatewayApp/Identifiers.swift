/// Random identifiers handed to clients: unguessable, URL-safe, short.
enum Identifiers {
    static func random(prefix: String, bytes: Int = 9) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var result = prefix
        for _ in 0..<(bytes * 4 / 3) { result.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
        return result
    }

    static func turn() -> String { random(prefix: "t_") }
    static func guest() -> String { random(prefix: "guest-", bytes: 6) }
    static func node() -> String { random(prefix: "node-", bytes: 4) }
}
