# Trellis: every target bootstraps its own dependencies first (scripts/bootstrap), so each
# works on a fresh Debian machine.

BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS           ?= $(shell nproc)
CMAKE_FLAGS    ?=

.PHONY: all bootstrap build build-asan test test-unit test-asan demo fuzz bench clean format

all: build

bootstrap:
	@./scripts/bootstrap

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

$(ASAN_BUILD_DIR)/build.ninja:
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRELLIS_SANITIZE=ON $(CMAKE_FLAGS)

build: bootstrap $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: bootstrap $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# All tests on the optimised build, then unit tests and fuzz corpora under ASan + UBSan.
test: build build-asan
	ctest --test-dir $(BUILD_DIR) --output-on-failure --progress -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure --progress -j $(JOBS) -L 'unit|fuzz'

test-unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

# The meshed demo on this machine (root, or sudo): validates the examples, then `trellis up -f
# examples/demo` (trellis-control + sidecar proxies) and prints what to look at. Re-runnable.
demo: build
	examples/demo/up.sh $(BUILD_DIR)/bin

# Trellis side by side with HAProxy and nginx on loopback: prints the comparison table and writes
# $(BUILD_DIR)/bench/results.{md,json} (bench/README.md). BENCH_QUICK=1: a ~1 minute smoke run.
bench: build
	python3 bench/run.py --bin $(BUILD_DIR)/bin --out $(BUILD_DIR)/bench

# libFuzzer binaries (clang): make fuzz, then e.g. build-fuzz/fuzz/fuzz_resources fuzz/resources/corpus
fuzz: bootstrap
	CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRELLIS_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS)

format:
	find src apps fuzz tests bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) build-fuzz
