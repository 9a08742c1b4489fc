/// The tokens llama.cpp recognises by their text when a file does not name them, and the
/// attributes it adjusts on the way (`llama_vocab::impl::load`, "auto-detect special tokens by
/// text"). The lists are llama.cpp 0.3.36's.
///
/// Where several tokens carry texts for the same role (end of turn, FIM), llama.cpp takes the
/// first it meets while walking a hash map, an order no other program can reproduce; WeightKit
/// takes the one whose text comes first in llama.cpp's list, then the lowest id. The
/// end-of-generation set does not depend on that choice.
enum LlamaSpecialTokens {
    static let endOfTurnTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfMessageTexts = ["<|eom_id|>"]
    static let fimPrefixTexts = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]
    static let fimSuffixTexts = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]
    static let fimMiddleTexts = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepoTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparatorTexts = ["<|file_sep|>"]
    static let endOfGenerationTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]
    /// gpt-oss's tokens llama.cpp always renders (made user-defined).
    static let alwaysRenderedTexts = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Fills unset end-of-turn, end-of-message and FIM ids from token texts, marks tokens
    /// control and unused as llama.cpp does, and returns the end-of-generation ids.
    static func recognise(texts: TokenTexts, attributes: inout [TokenAttributes], ids: inout LlamaSpecialIDs) -> [Int32] {
        func find(_ candidates: [String]) -> Int32 {
            for text in candidates {
                let id = texts.id(of: text)
                if id >= 0 { return id }
            }
            return -1
        }
        func control(_ id: Int32) {
            if id >= 0 { attributes[Int(id)].insert(.control) }
        }
        let roles: [(LlamaSpecialIDs.Role, [String])] = [
            (.eot, endOfTurnTexts), (.eom, endOfMessageTexts), (.fimPre, fimPrefixTexts), (.fimSuf, fimSuffixTexts),
            (.fimMid, fimMiddleTexts), (.fimPad, fimPadTexts), (.fimRep, fimRepoTexts), (.fimSep, fimSeparatorTexts),
        ]
        for (role, candidates) in roles where ids[role] < 0 {
            let id = find(candidates)
            ids[role] = id
            control(id)
        }

        // Control tokens whose text says "unused" are unused.
        let unused = Array("unused".utf8)
        for id in 0..<texts.count where attributes[id].contains(.control) && !attributes[id].contains(.unused) {
            if texts.bytes(id).firstRange(of: unused) != nil { attributes[id].insert(.unused) }
        }

        var endOfGeneration = Set<Int32>()
        for id in [ids.fimPad, ids.fimRep, ids.fimSep] where id >= 0 { endOfGeneration.insert(id) }
        for text in endOfGenerationTexts {
            // Every token with this text (a text may repeat; llama.cpp's map keeps the last).
            let id = texts.id(of: text)
            guard id >= 0 else { continue }
            endOfGeneration.insert(id)
            control(id)
        }
        for text in alwaysRenderedTexts {
            let id = texts.id(of: text)
            if id >= 0 { attributes[Int(id)] = .userDefined }
        }
        for id in [ids.eos, ids.eot, ids.eom] where id >= 0 { endOfGeneration.insert(id) }

        // o200k_harmony and solar-open: "<|end|>" is not the end when "<|return|>"/"<|call|>"
        // (or "<|calls|>"/"<|flush|>") exist.
        var hasReturn = false, hasCall = false, hasFlush = false, endID: Int32 = -1
        for id in endOfGeneration {
            switch texts.string(Int(id)) {
            case "<|return|>": hasReturn = true
            case "<|call|>", "<|calls|>": hasCall = true
            case "<|flush|>": hasFlush = true
            case "<|end|>": endID = id
            default: break
            }
        }
        if endID >= 0 && ((hasReturn && hasCall) || (hasCall && hasFlush)) {
            endOfGeneration.remove(endID)
            attributes[Int(endID)] = .userDefined
        }
        // Gemma 4 and PLaMo have an ordinary "</s>".
        var hasMarker = false, closeID: Int32 = -1
        for id in endOfGeneration {
            switch texts.string(Int(id)) {
            case "<|tool_response>", "<|plamo:eos|>": hasMarker = true
            case "</s>": closeID = id
            default: break
            }
        }
        if hasMarker && closeID >= 0 {
            endOfGeneration.remove(closeID)
            attributes[Int(closeID)] = .normal
        }
        return Array(endOfGeneration)
    }

    /// Control, user-defined and unknown tokens, longest first (ties by id): the order in which
    /// llama.cpp looks for them in the text.
    static func wholeTokenOrder(texts: TokenTexts, attributes: [TokenAttributes]) -> [Int32] {
        var ids: [Int32] = []
        for id in 0..<texts.count where !attributes[id].isDisjoint(with: TokenAttributes.matchedAsWhole) {
            ids.append(Int32(id))
        }
        // A stable order: llama.cpp's std::sort leaves equal lengths in an unspecified order.
        return ids.enumerated().sorted { a, b in
            let la = texts.length(Int(a.element)), lb = texts.length(Int(b.element))
            return la != lb ? la > lb : a.offset < b.offset
        }.map(\.element)
    }

    /// Per-model attribute rules llama.cpp applies by model, pre-tokenizer or architecture name.
    static func applyNameRules(texts: TokenTexts, attributes: inout [TokenAttributes], wholeTokens: [Int32],
                               modelName: String, pre: String, architecture: String) {
        func set(_ text: String, _ attribute: TokenAttributes, _ on: Bool) {
            let id = texts.id(of: text)
            guard id >= 0 else { return }
            if on { attributes[Int(id)].insert(attribute) } else { attributes[Int(id)].remove(attribute) }
        }
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { pre.contains($0) })
            || ["nomic-bert-moe", "jina-bert-v3"].contains(where: { architecture.contains($0) }) {
            set("<mask>", .leftStrip, true)
        } else if modelName.contains("phi-3") || modelName.contains("phi3") {
            for id in wholeTokens { attributes[Int(id)].insert(.rightStrip) }
            set("</s>", .rightStrip, true)
            for text in ["<unk>", "<s>", "<|endoftext|>"] { set(text, .rightStrip, false) }
        } else if modelName.contains("modern-bert") {
            set("[MASK]", .leftStrip, true)
        }
    }
}
