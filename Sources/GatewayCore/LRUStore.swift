/// Entries in least-recently-used order with a running total of their costs, all operations O(1):
/// a dictionary into slots that form a doubly linked list, newest at the head. Not thread-safe;
/// `MemoryResponseCache` keeps one behind its lock.
struct LRUStore<Key: Hashable, Value> {
    fileprivate struct Slot {
        var key: Key
        var value: Value
        var cost: Int
        var newer: Int?
        var older: Int?
    }

    private var slots: [Slot?] = []
    private var freeSlots: [Int] = []
    private var slotOfKey: [Key: Int] = [:]
    private var newest: Int?
    private var oldest: Int?
    private(set) var totalCost = 0

    var count: Int { slotOfKey.count }

    /// The value, marking it most recently used.
    mutating func use(_ key: Key) -> Value? {
        guard let slot = slotOfKey[key] else { return nil }
        moveToNewest(slot)
        return slots[slot]!.value
    }

    func peek(_ key: Key) -> Value? { slotOfKey[key].map { slots[$0]!.value } }

    /// Inserts or replaces, as the most recently used entry.
    mutating func set(_ value: Value, cost: Int, for key: Key) {
        if let slot = slotOfKey[key] {
            totalCost += cost - slots[slot]!.cost
            slots[slot]!.value = value
            slots[slot]!.cost = cost
            moveToNewest(slot)
            return
        }
        let entry = Slot(key: key, value: value, cost: cost, newer: nil, older: nil)
        let slot: Int
        if let free = freeSlots.popLast() {
            slots[free] = entry
            slot = free
        } else {
            slots.append(entry)
            slot = slots.count - 1
        }
        slotOfKey[key] = slot
        totalCost += cost
        linkAsNewest(slot)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let slot = slotOfKey.removeValue(forKey: key) else { return nil }
        unlink(slot)
        let entry = slots[slot]!
        slots[slot] = nil
        freeSlots.append(slot)
        totalCost -= entry.cost
        return entry.value
    }

    /// The least recently used entry, without marking it used.
    var oldestEntry: (key: Key, value: Value)? {
        oldest.map { (slots[$0]!.key, slots[$0]!.value) }
    }

    /// Keys from most to least recently used (for tests and diagnostics; O(n)).
    var keysNewestFirst: [Key] {
        var keys: [Key] = []
        var cursor = newest
        while let slot = cursor {
            keys.append(slots[slot]!.key)
            cursor = slots[slot]!.older
        }
        return keys
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func linkAsNewest(_ slot: Int) {
        slots[slot]!.newer = nil
        slots[slot]!.older = newest
        if let previous = newest { slots[previous]!.newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let newer = slots[slot]!.newer
        let older = slots[slot]!.older
        if let newer { slots[newer]!.older = older } else { newest = older }
        if let older { slots[older]!.newer = newer } else { oldest = newer }
        slots[slot]!.newer = nil
        slots[slot]!.older = nil
    }
}

extension LRUStore: Sendable where Key: Sendable, Value: Sendable {}
extension LRUStore.Slot: Sendable where Key: Sendable, Value: Sendable {}
