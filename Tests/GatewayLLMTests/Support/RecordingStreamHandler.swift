import Foundation
import GatewayLLM
import Synchronization

/// An `HTTPStreamHandler` that records every callback in arrival order, with the name of the
/// thread it ran on, so tests can check order, completeness and the threading contract.
final class RecordingStreamHandler: HTTPStreamHandler {
    enum Call {
        case head(HTTPResponseHead)
        case body([UInt8])
        case complete(Result<Void, HTTPStreamError>)
    }

    private struct State {
        var calls: [Call] = []
        var threadNames: Set<String> = []
    }

    private let state = Mutex(State())

    func didReceiveHead(_ head: HTTPResponseHead) { record(.head(head)) }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) { record(.body(Array(bytes))) }
    func didComplete(_ result: Result<Void, HTTPStreamError>) { record(.complete(result)) }

    private func record(_ call: Call) {
        let thread = Self.currentThreadName()
        state.withLock {
            $0.calls.append(call)
            $0.threadNames.insert(thread)
        }
    }

    /// The kernel's name for the calling thread (Glibc does not export `pthread_getname_np` to Swift).
    private static func currentThreadName() -> String {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
        return name.trimmingCharacters(in: .newlines)
    }

    // MARK: - Reading what arrived

    var calls: [Call] { state.withLock { $0.calls } }
    /// Names of the threads any callback ran on.
    var threadNames: Set<String> { state.withLock { $0.threadNames } }

    var heads: [HTTPResponseHead] {
        calls.compactMap { if case let .head(head) = $0 { head } else { nil } }
    }
    var completions: [Result<Void, HTTPStreamError>] {
        calls.compactMap { if case let .complete(result) = $0 { result } else { nil } }
    }
    /// Each completion as its error, nil for success (`Result<Void, _>` is not Equatable).
    var completionErrors: [HTTPStreamError?] {
        completions.map { if case let .failure(error) = $0 { error } else { nil } }
    }
    var body: [UInt8] {
        calls.flatMap { if case let .body(bytes) = $0 { bytes } else { [UInt8]() } }
    }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The calls in shorthand ("head", "body", "complete"), to compare their order.
    var callKinds: [String] {
        calls.map {
            switch $0 {
            case .head: "head"
            case .body: "body"
            case .complete: "complete"
            }
        }
    }

    /// The request's id in the scripted upstream's log (`X-Request-Id`).
    var upstreamRequestID: Int? { heads.first?.value(forHeader: "X-Request-Id").flatMap { Int($0) } }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func waitUntil(timeout: TimeInterval = 10, _ condition: (RecordingStreamHandler) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    @discardableResult
    func waitForCompletion(timeout: TimeInterval = 10) -> Bool {
        waitUntil(timeout: timeout) { !$0.completions.isEmpty }
    }
}
