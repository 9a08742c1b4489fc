/// llama.cpp reorders the rows of Llama's q and k projections so that its rotary kernel's
/// adjacent-pair layout sees what Hugging Face's rotate-half layout sees.
public enum RotaryRowOrder {
    /// For each permuted row, the original row it comes from: within each head, row `2i` comes
    /// from row `i` and row `2i + 1` from row `i + d/2`.
    public static func llama(rows: Int, heads: Int) -> [Int] {
        let perHead = rows / max(heads, 1)
        let half = perHead / 2
        var order = [Int](repeating: 0, count: rows)
        for head in 0..<heads {
            for i in 0..<half {
                order[head * perHead + 2 * i] = head * perHead + i
                order[head * perHead + 2 * i + 1] = head * perHead + half + i
            }
        }
        return order
    }

    /// The inverse of `llama(rows:heads:)`.
    public static func llamaInverse(rows: Int, heads: Int) -> [Int] {
        let permutation = llama(rows: rows, heads: heads)
        var inverse = [Int](repeating: 0, count: rows)
        for (row, source) in permutation.enumerated() { inverse[source] = row }
        return inverse
    }
}
