/// llama.cpp's byte-level BPE pre-tokenizers (`llama_vocab_pre_type`), by the names
/// `tokenizer.ggml.pre` uses, with the regexes llama.cpp 0.3.36 runs for each
/// (`llm_tokenizer_bpe`'s constructor, verbatim) and the vocabulary flags the name sets
/// (`llama_vocab::impl::load`).
enum LlamaPreType: String, CaseIterable, Sendable {
    case `default`, llama3, jais2, dbrx, smaug, deepseekLlm, deepseek3Llm, hunyuanDense, joyaiLlm, hyV4, spark25, youtu
    case deepseekCoder, falcon, starcoder, refact, commandR, smollm, codeshell, exaone, minerva, mellum2
    case gpt2, mpt, olmo, jais, trillion, graniteDocling, stablelm2, qwen2, hunyuan, solarOpen, qwen35
    case poro, bloom, gpt3Finnish, chatglm4, viking, tekken, chameleon, gpt4o, minimaxM2, graniteEmbMulti
    case tinyAya, kimiK2, superbpe, bailingmoe, seedCoder, ufakzeka, grok2, afmoe, laguna, exaoneMoe
    case gemma4, sarvamMoe, minicpm5, whitespace

    /// What a `tokenizer.ggml.pre` name selects.
    struct Choice: Sendable {
        var type: LlamaPreType
        var ignoreMerges = false
        var addBOS: Bool? = nil
        var addSEP: Bool? = nil
        var cleanSpaces: Bool? = nil
        var escapeWhitespaces: Bool? = nil
        var noBOS = false
    }

    /// The choice for `name`, or nil for a name llama.cpp does not know (it refuses the file).
    static func choice(for name: String) -> Choice? {
        switch name {
        case "default": return Choice(type: .default)
        case "minicpm5": return Choice(type: .minicpm5, ignoreMerges: true)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return Choice(type: .llama3, ignoreMerges: true, addBOS: true)
        case "deepseek-llm": return Choice(type: .deepseekLlm, cleanSpaces: false)
        case "deepseek-coder": return Choice(type: .deepseekCoder, cleanSpaces: false)
        case "deepseek-v3": return Choice(type: .deepseek3Llm, cleanSpaces: false)
        case "spark2_5": return Choice(type: .spark25, cleanSpaces: false)
        case "youtu": return Choice(type: .youtu, ignoreMerges: true, cleanSpaces: false)
        case "falcon": return Choice(type: .falcon)
        case "mpt": return Choice(type: .mpt)
        case "starcoder": return Choice(type: .starcoder)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert":
            return Choice(type: .gpt2)
        case "jais-2": return Choice(type: .jais2)
        case "gemma4", "granite-embed-multi-311m": return Choice(type: .gemma4, escapeWhitespaces: true)
        case "sarvam-moe": return Choice(type: .sarvamMoe, cleanSpaces: false, escapeWhitespaces: true)
        case "jina-v1-en", "jina-v2-code", "roberta-bpe": return Choice(type: .gpt2, addSEP: true)
        case "whitespace": return Choice(type: .whitespace)
        case "refact": return Choice(type: .refact)
        case "command-r": return Choice(type: .commandR, cleanSpaces: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2": return Choice(type: .qwen2, cleanSpaces: false)
        case "qwen35": return Choice(type: .qwen35, cleanSpaces: false)
        case "stablelm2": return Choice(type: .stablelm2)
        case "olmo": return Choice(type: .olmo)
        case "dbrx": return Choice(type: .dbrx)
        case "smaug-bpe": return Choice(type: .smaug)
        case "poro-chat": return Choice(type: .poro, cleanSpaces: false)
        case "chatglm-bpe": return Choice(type: .chatglm4, noBOS: true)
        case "glm4", "glm5": return Choice(type: .chatglm4, ignoreMerges: true, noBOS: true)
        case "viking": return Choice(type: .viking, cleanSpaces: false)
        case "jais": return Choice(type: .jais)
        case "tekken": return Choice(type: .tekken, ignoreMerges: true, addBOS: true, cleanSpaces: false)
        case "smollm": return Choice(type: .smollm, cleanSpaces: false)
        case "codeshell": return Choice(type: .codeshell)
        case "bloom": return Choice(type: .bloom)
        case "gpt3-finnish": return Choice(type: .gpt3Finnish)
        case "exaone": return Choice(type: .exaone)
        case "exaone4": return Choice(type: .gpt2)
        case "exaone-moe": return Choice(type: .exaoneMoe)
        case "chameleon": return Choice(type: .chameleon, addBOS: true, cleanSpaces: false)
        case "minerva-7b": return Choice(type: .minerva)
        case "megrez": return Choice(type: .qwen2)
        case "gpt-4o", "llama4", "kanana2", "talkie": return Choice(type: .gpt4o, cleanSpaces: false)
        case "granite-embed-multi-97m": return Choice(type: .graniteEmbMulti, ignoreMerges: true, cleanSpaces: false)
        case "tiny_aya", "cohere2moe": return Choice(type: .tinyAya, cleanSpaces: false)
        case "superbpe": return Choice(type: .superbpe, cleanSpaces: false)
        case "trillion": return Choice(type: .trillion, cleanSpaces: false)
        case "granite-docling": return Choice(type: .graniteDocling, cleanSpaces: false)
        case "bailingmoe", "bailingmoe2", "llada-moe": return Choice(type: .bailingmoe, cleanSpaces: false)
        case "seed-coder": return Choice(type: .seedCoder, cleanSpaces: false)
        case "hunyuan": return Choice(type: .hunyuan, cleanSpaces: false)
        case "hunyuan-dense": return Choice(type: .hunyuanDense, cleanSpaces: false)
        case "hy_v4": return Choice(type: .hyV4, cleanSpaces: false)
        case "joyai-llm": return Choice(type: .joyaiLlm, cleanSpaces: false)
        case "kimi-k2": return Choice(type: .kimiK2, cleanSpaces: false)
        case "ufakzeka": return Choice(type: .ufakzeka, cleanSpaces: false)
        case "grok-2": return Choice(type: .grok2, cleanSpaces: false)
        case "afmoe": return Choice(type: .afmoe, cleanSpaces: false)
        case "laguna": return Choice(type: .laguna, cleanSpaces: false)
        case "minimax-m2": return Choice(type: .minimaxM2, cleanSpaces: false)
        case "solar-open": return Choice(type: .solarOpen, cleanSpaces: false)
        case "mellum2": return Choice(type: .mellum2)
        default: return nil
        }
    }

    /// Every name `choice(for:)` accepts.
    static let names: [String] = [
        "default", "minicpm5", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano", "deepseek-llm", "deepseek-coder", "deepseek-v3", "spark2_5", "youtu", "falcon", "mpt", "starcoder",
        "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
        "jais-2", "gemma4", "granite-embed-multi-311m", "sarvam-moe", "jina-v1-en", "jina-v2-code", "roberta-bpe",
        "whitespace", "refact", "command-r", "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "qwen35", "stablelm2", "olmo",
        "dbrx", "smaug-bpe", "poro-chat", "chatglm-bpe", "glm4", "glm5", "viking", "jais", "tekken", "smollm", "codeshell",
        "bloom", "gpt3-finnish", "exaone", "exaone4", "exaone-moe", "chameleon", "minerva-7b", "megrez", "gpt-4o", "llama4",
        "kanana2", "talkie", "granite-embed-multi-97m", "tiny_aya", "cohere2moe", "superbpe", "trillion", "granite-docling",
        "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder", "hunyuan", "hunyuan-dense", "hy_v4", "joyai-llm", "kimi-k2",
        "ufakzeka", "grok-2", "afmoe", "laguna", "minimax-m2", "solar-open", "mellum2",
    ]

    /// Whether words are byte-encoded (GPT-2's byte-to-character table) before the merges.
    var byteEncodes: Bool {
        switch self {
        case .gemma4, .sarvamMoe, .whitespace: false
        default: true
        }
    }

    /// The regexes, applied one after another, each splitting the pieces of the one before.
    var regexes: [String] {
        switch self {
        case .llama3:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .jais2:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
            ]
        case .dbrx, .smaug:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .deepseekLlm:
            return [
                "[\r\n]",
                "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
                "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
                "\\s+$",
                "[一-龥ࠀ-一가-퟿]+",
                "\\p{N}+",
            ]
        case .deepseek3Llm, .hunyuanDense, .joyaiLlm, .hyV4:
            return [
                "\\p{N}{1,3}",
                "[一-龥぀-ゟ゠-ヿ]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .spark25:
            return [
                "\\p{N}{1,3}",
                "[一-龥぀-ゟ゠-ヿ]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+",
                "\\p{N}",
            ]
        case .youtu:
            return [
                "[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+",
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .deepseekCoder:
            return [
                "[\r\n]",
                "\\s?\\p{L}+",
                "\\s?\\p{P}+",
                "[一-龥ࠀ-一가-퟿]+",
                "\\p{N}",
            ]
        case .falcon:
            return [
                "[\\p{P}\\$\\+<=>\\^~\\|`]+",
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                "[0-9][0-9][0-9]",
            ]
        case .starcoder, .refact, .commandR, .smollm, .codeshell, .exaone, .minerva, .mellum2:
            return [
                "\\p{N}",
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            ]
        case .gpt2, .mpt, .olmo, .jais, .trillion, .graniteDocling:
            return [
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            ]
        case .stablelm2, .qwen2, .hunyuan, .solarOpen:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .qwen35:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .poro, .bloom, .gpt3Finnish:
            return [
                " ?[^(\\s|.,!?…。，、।۔،)]+",
            ]
        case .chatglm4:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .viking:
            return [
                " ?[^(\\s|.,!?…。，、।۔،)]+",
                "\\p{N}",
            ]
        case .tekken:
            return [
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .chameleon:
            return [
                "<sentinel:[0-9]+>",
                "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                "([\\t\\n]|    |  )",
                "\\p{N}",
                "[\\p{P}!-/:-@\\[-`{-~]",
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            ]
        case .gpt4o, .minimaxM2:
            return [
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .graniteEmbMulti:
            return [
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .tinyAya:
            return [
                "\\d{1,3}(?=(?:\\d{3})*\\b)",
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .kimiK2:
            return [
                "\\p{Han}+",
            ]
        case .superbpe:
            return [
                "\\p{N}+",
                "(?=(\\d{3})+(?!\\d))",
            ]
        case .bailingmoe:
            return [
                "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
            ]
        case .seedCoder:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .ufakzeka:
            return [
                "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .grok2:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .afmoe:
            return [
                "\\p{AFMoE_digits}",
                "[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .laguna:
            return [
                "[^\\n]+|[\\n]+",
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .exaoneMoe:
            return [
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
            ]
        case .gemma4:
            return [
                "[^\\n]+|[\\n]+",
            ]
        case .sarvamMoe:
            return [
                "[^\\n]+|[\\n]+",
            ]
        case .minicpm5:
            return [
                "\\p{N}{1,3}",
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ]
        case .whitespace:
            return [
                "\\S+",
            ]
        case .default:
            return [
                "[\\p{P}\\$\\+<=>\\^~\\|]+",
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                "\\p{N}+",
                "[0-9][0-9][0-9]",
            ]
        }
    }
}
