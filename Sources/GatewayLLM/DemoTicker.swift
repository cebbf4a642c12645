import Dispatch

/// The one timer that paces every running demo reply. A timer per reply meant 20,000 timer fires a
/// second at 1,000 replies of 20 tokens/s, and libdispatch re-arms its timerfd and wakes a worker
/// thread for each: in the 1,000-streams profile that was about two thirds of the gateway's CPU.
/// This timer is re-armed for the earliest reply due plus `window`, and one fire serves every
/// reply due by then, so replies whose ticks fall within `window` of each other share a fire.
///
/// @unchecked Sendable: `streams`, `ticks` and `armedFor` are touched only on `queue` (the timer's handler
/// and `add`, which hops onto it).
final class DemoTicker: @unchecked Sendable {
    /// How late a tick may come so that it shares a fire: the leeway the per-reply timers had.
    static let windowNanoseconds: UInt64 = 2_000_000

    private let queue: DispatchQueue
    private let timer: any DispatchSourceTimer
    private var streams: [DemoStream] = []
    /// `streams[i].nextTick`, kept apart so a fire scans plain integers: reading each stream's
    /// own field retained and released it, 1,000 streams every 2 ms (a fifth of this thread's time).
    private var ticks: [UInt64] = []
    /// When the pending fire is due (uptime ns); nil while no reply runs (the timer is idle then).
    private var armedFor: UInt64?

    init(queue: DispatchQueue) {
        self.queue = queue
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [unowned self] in fire() }
        timer.resume()  // unscheduled: it fires only once `arm` schedules it
    }

    /// Starts `stream`: its first token goes out at once (on the queue, never inside the caller).
    func add(_ stream: DemoStream) {
        queue.async { [self] in
            guard stream.tick(now: DispatchTime.now().uptimeNanoseconds) else { return }
            streams.append(stream)
            ticks.append(stream.nextTick)
            arm(for: stream.nextTick)
        }
    }

    private func fire() {
        armedFor = nil
        let now = DispatchTime.now().uptimeNanoseconds
        var earliest = UInt64.max
        var ended = false
        for index in ticks.indices {
            if ticks[index] <= now {
                let stream = streams[index]
                if stream.tick(now: now) {
                    ticks[index] = stream.nextTick
                } else {
                    ticks[index] = .max  // ended or cancelled: dropped below
                    ended = true
                    continue
                }
            }
            earliest = min(earliest, ticks[index])
        }
        if ended {
            var kept = 0
            for index in ticks.indices where ticks[index] != .max {
                streams.swapAt(kept, index)
                ticks[kept] = ticks[index]
                kept += 1
            }
            streams.removeLast(streams.count - kept)
            ticks.removeLast(ticks.count - kept)
        }
        if !streams.isEmpty { arm(for: earliest) }
    }

    /// Makes sure a fire comes by `tick + window`.
    private func arm(for tick: UInt64) {
        let deadline = tick + Self.windowNanoseconds
        if let armedFor, armedFor <= deadline { return }
        armedFor = deadline
        timer.schedule(deadline: DispatchTime(uptimeNanoseconds: deadline), repeating: .never, leeway: .microseconds(200))
    }
}
