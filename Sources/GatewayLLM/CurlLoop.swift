import CCurl
import CGatewayShims.Curl

/// The curl thread's side of `HTTPStreamClient`: owns the multi handle and every transfer, and is
/// only ever used by that thread (`run()` is the thread's body). Other threads reach it through
/// `CurlInbox`, which wakes `curl_multi_poll` with `curl_multi_wakeup`.
final class CurlLoop {
    private let multi: UnsafeMutableRawPointer
    private let inbox: CurlInbox
    private var transfers: [HTTPTransferID: CurlTransfer] = [:]

    /// Upper bound on one poll: curl lowers it itself when one of its timers is due sooner.
    private static let pollTimeoutMilliseconds: Int32 = 1_000

    init(multi: UnsafeMutableRawPointer, inbox: CurlInbox) {
        self.multi = multi
        self.inbox = inbox
    }

    func run() {
        while true {
            let (commands, closing) = inbox.take()
            for command in commands { apply(command) }
            if closing { break }

            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            completeFinishedTransfers()
            _ = curl_multi_poll(multi, nil, 0, Self.pollTimeoutMilliseconds, nil)
        }
        for id in Array(transfers.keys) { abort(id) }
        // `inbox.take()` reported closing under its lock: no thread calls curl_multi_wakeup any more.
        curl_multi_cleanup(multi)
    }

    private func apply(_ command: CurlInbox.Command) {
        switch command {
        case let .start(id, request, handler):
            let transfer: CurlTransfer
            do {
                transfer = try CurlTransfer(id: id, request: request, handler: handler)
            } catch {
                handler.didComplete(.failure(.transport(code: -1, message: "could not set up the transfer: \(error)")))
                return
            }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                transfer.cleanup()
                let message = String(cString: curl_multi_strerror(code))
                handler.didComplete(.failure(.transport(code: -Int(code.rawValue), message: message)))
                return
            }
            transfers[id] = transfer
        case let .cancel(id):
            abort(id)
        }
    }

    /// Removing an unfinished transfer makes curl close its connection (it is never put back in the
    /// pool), so the upstream sees the client go away at once and stops generating.
    private func abort(_ id: HTTPTransferID) {
        guard let transfer = transfers.removeValue(forKey: id) else { return }  // already completed
        _ = curl_multi_remove_handle(multi, transfer.easy)
        transfer.cleanup()
        transfer.handler.didComplete(.failure(.aborted))
    }

    private func completeFinishedTransfers() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let transfer = CurlTransfer.from(easy: easy) else { continue }
            // Read everything needed from `message` before removing the handle: that frees it.
            let result = transfer.result(for: message.pointee.data.result)
            transfers[transfer.id] = nil
            _ = curl_multi_remove_handle(multi, easy)
            transfer.cleanup()
            transfer.handler.didComplete(result)
        }
    }
}
