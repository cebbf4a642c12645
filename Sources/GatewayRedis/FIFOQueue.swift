/// First in, first out, O(1) amortised at both ends (the standard library has no deque and
/// outside packages are not used): the commands sent and waiting for their replies, in order.
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head]
        head += 1
        // Reclaim the consumed prefix once it is most of the array, so memory follows the backlog.
        if head > 64, head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() -> [Element] {
        let remaining = Array(storage[head...])
        storage.removeAll()
        head = 0
        return remaining
    }
}
