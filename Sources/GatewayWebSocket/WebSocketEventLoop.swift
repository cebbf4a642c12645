/// The event loop behind the lws service thread.
public enum WebSocketEventLoop: String, Sendable, Equatable, CaseIterable {
    /// lws's built-in `poll()` loop: no plugin needed, but O(connections) per wake-up.
    case poll
    /// libev through the Debian plugin `libwebsockets-evlib-ev` (epoll): scales to tens of thousands of
    /// connections. `start()` fails with `contextCreationFailed` if the plugin is not installed.
    case libev
}
