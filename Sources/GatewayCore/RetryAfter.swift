import Foundation

/// How long an upstream asked us to wait before asking again, from its response headers:
/// `retry-after-ms` (OpenAI, Azure) wins; otherwise `Retry-After` as delta-seconds (fractions
/// allowed, as some proxies send) or as an HTTP-date, relative to `nowMillis`. Pure.
///
/// Values are capped at `maxMillis`: the number is the upstream's to write, and one past `Int`
/// (or near it, once added to the clock) would otherwise trap.
public enum RetryAfter {
    /// The longest wait read from a header: one day.
    public static let maxMillis = 86_400_000

    public static func millis(headers: [(name: String, value: String)], nowMillis: Int) -> Int? {
        func value(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
                .trimmingCharacters(in: .whitespaces)
        }
        if let raw = value("retry-after-ms"), let ms = Double(raw), ms.isFinite, ms >= 0 {
            return capped(ms.rounded(.up))
        }
        guard let raw = value("Retry-After"), !raw.isEmpty else { return nil }
        if let seconds = Double(raw) {
            guard seconds.isFinite, seconds >= 0 else { return nil }
            return capped((seconds * 1000).rounded(.up))
        }
        guard let date = httpDate(raw) else { return nil }
        return capped(max(0, (date.timeIntervalSince1970 * 1000).rounded(.up) - Double(nowMillis)))
    }

    /// `millis` (finite, not negative) as an Int of at most `maxMillis`.
    private static func capped(_ millis: Double) -> Int {
        millis >= Double(maxMillis) ? maxMillis : Int(millis)
    }

    /// IMF-fixdate, and the two obsolete forms HTTP/1.1 recipients must accept (RFC 9110 §5.6.7).
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
