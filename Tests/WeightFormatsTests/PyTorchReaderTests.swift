import Testing
@testable import WeightFormats

/// PyTorch zip checkpoints written by torch.save, against what torch.load(weights_only=True)
/// reads from them (Fixtures/generators/pytorch_files.py): names in order, dtypes, shapes and
/// every byte, for contiguous, strided, offset, shared and expanded tensors.
@Suite struct PyTorchReaderTests {
    /// Checks `checkpoint` tensor by tensor against `<stem>.expected.safetensors/json`.
    func expectMatchesTorchLoad(_ checkpoint: Checkpoint, stem: String) throws {
        let expected = try Checkpoint.open(Fixture.path("pytorch/\(stem).expected.safetensors"))
        let layout = try Fixture.json("pytorch/\(stem).expected.json")
        let order = (layout["tensors"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        #expect(!order.isEmpty)
        #expect(checkpoint.format == .pytorch)
        #expect(checkpoint.tensors.map(\.name) == order)
        for tensor in checkpoint.tensors {
            let reference = try #require(expected.tensor(named: tensor.name), "\(tensor.name) not in the reference")
            #expect(tensor.dtype == reference.dtype, "\(tensor.name)")
            #expect(tensor.shape == reference.shape, "\(tensor.name)")
            #expect(tensor.byteCount == reference.byteCount, "\(tensor.name)")
            #expect(tensor.bytes.elementsEqual(reference.bytes), "\(tensor.name): bytes differ from torch.load's")
        }
    }

    @Test("torch.save files read as torch.load reads them", arguments: ["state_dict", "nested", "zip64"])
    func readsLikeTorchLoad(stem: String) throws {
        let checkpoint = try Checkpoint.open(Fixture.path("pytorch/\(stem).pth"))
        try expectMatchesTorchLoad(checkpoint, stem: stem)
        let layout = try Fixture.json("pytorch/\(stem).expected.json")
        let path = (layout["state_dict_path"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(checkpoint.pytorchFiles.first?.stateDictPath == path)
    }

    @Test("strided views are copied row-major; contiguous ones are mapped in place")
    func stridedAndContiguous() throws {
        let file = try PyTorchFile(path: Fixture.path("pytorch/state_dict.pth"))
        let strided = Set(file.tensorInfos.filter { !$0.isContiguous }.map(\.name))
        #expect(strided == ["transposed.weight", "slice.weight", "expanded"])
        for (info, view) in zip(file.tensorInfos, file.tensors) where info.isContiguous {
            #expect(view.file === file.file && view.offset == info.offset, "\(info.name) should be a view into the archive")
        }
        let shared = file.tensorInfos.filter { $0.name.hasPrefix("shared.") }
        #expect(shared.count == 2 && shared[0].storageKey == shared[1].storageKey)
        #expect(shared.map(\.storageOffset) == [0, 12])
    }

    @Test("a Hugging Face directory of pytorch_model-*.bin shards opens as one checkpoint")
    func shardedDirectory() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("pytorch/hf-bin"))
        #expect(checkpoint.pytorchFiles.count == 2)
        try expectMatchesTorchLoad(checkpoint, stem: "hf-bin")
        let viaIndex = try Checkpoint.open(Fixture.path("pytorch/hf-bin/pytorch_model.bin.index.json"))
        #expect(viaIndex.tensors.map(\.name) == checkpoint.tensors.map(\.name))
    }

    @Test("a pickle that calls os.system is refused, naming the global, before anything runs")
    func maliciousGlobal() throws {
        let error = formatError { try Checkpoint.open(Fixture.path("pytorch/malicious.pth")) }
        guard case .pickleForbiddenGlobal(let module, let name, _) = error else {
            Issue.record("expected pickleForbiddenGlobal, got \(String(describing: error))")
            return
        }
        #expect(["posix", "os", "nt"].contains(module))
        #expect(name == "system")
        #expect(error?.description.contains("\(module).system") == true)
    }

    @Test("the legacy format and deflated entries are clear errors")
    func unsupportedLayouts() throws {
        #expect(formatError { try Checkpoint.open(Fixture.path("pytorch/legacy.pth")) } == .pytorchLegacyFormat)
        let compressed = formatError { try Checkpoint.open(Fixture.path("pytorch/compressed.pth")) }
        guard case .zipEntryCompressed(_, let method) = compressed else {
            Issue.record("expected zipEntryCompressed, got \(String(describing: compressed))")
            return
        }
        #expect(method == 8)
    }

    @Test("every truncation of a checkpoint is a FormatError, never a crash")
    func truncations() throws {
        let original = try MappedFile(path: Fixture.path("pytorch/state_dict.pth"))
        let step = max(1, original.size / 400)
        var failures = 0
        for length in stride(from: 1, to: original.size, by: step) {
            let prefix = try MappedFile(copying: UnsafeRawBufferPointer(rebasing: original.bytes[0..<length]), path: "truncated.pth")
            if formatError({ try PyTorchFile(file: prefix) }) != nil { failures += 1 }
        }
        #expect(failures == (original.size - 1 + step - 1) / step, "every prefix must be refused")
    }

    @Test("single corrupted bytes in the pickle and the directory never crash the reader")
    func corruptions() throws {
        let original = try MappedFile(path: Fixture.path("pytorch/state_dict.pth"))
        let file = try PyTorchFile(file: original)
        let pickle = try #require(file.archive.entry(named: file.archiveName + "/data.pkl"))
        let pickleRange = try file.archive.storedData(of: pickle)
        // The pickle, then the central directory and end record (the file's last bytes).
        let positions = Array(pickleRange) + Array(max(0, original.size - 2048)..<original.size)
        var bytes = Array(original.bytes)
        var refused = 0
        for position in positions {
            for replacement: UInt8 in [0x00, 0xff, bytes[position] ^ 0x5a] where replacement != original.bytes[position] {
                bytes[position] = replacement
                let mapped = try bytes.withUnsafeBytes { try MappedFile(copying: $0, path: "corrupt.pth") }
                do {
                    _ = try PyTorchFile(file: mapped)
                } catch is FormatError {
                    refused += 1
                }
            }
            bytes[position] = original.bytes[position]
        }
        #expect(refused > 0)
    }

    @Test("a key set twice in the pickled dict keeps its first place and last value, as a Python dict (fuzzer finding)")
    func duplicateKeys() throws {
        func tensor(_ key: String) -> PickleValue {
            .tensor(PickleTensor(
                storage: PickleStorage(dtype: .f32, typeName: "FloatStorage", key: key, location: "cpu", count: 1),
                dtype: .f32, storageOffset: 0, shape: [1], strides: [1], offset: 0))
        }
        let dict = PickleDict()
        dict.entries = [(.string("a"), tensor("0")), (.string("b"), tensor("1")), (.string("a"), tensor("2"))]
        let entries = try #require(PyTorchStateDict.tensorEntries(dict))
        #expect(entries.map(\.0) == ["a", "b"])
        #expect(entries.map(\.1.storage.key) == ["2", "1"])
    }
}
