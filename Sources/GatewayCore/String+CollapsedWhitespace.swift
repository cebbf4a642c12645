extension String {
    /// Every run of whitespace (newlines and no-break spaces too) as one space, none at the ends.
    var collapsingWhitespace: String {
        var result = ""
        result.reserveCapacity(utf8.count)
        var pendingSpace = false
        for character in self {
            if character.isWhitespace {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace { result.append(" ") }
            pendingSpace = false
            result.append(character)
        }
        return result
    }
}
