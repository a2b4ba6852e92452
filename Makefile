# ringdb: the two commands a newcomer needs.
#   make demo   install what is missing, build (release), run the demo
#   make test   install what is missing, build and run the whole suite:
#               lint (and its self-test), g++ debug, clang-14 ASan+UBSan, clang-14 TSan
#               (concurrency tests), a short fuzzing run (fuzz-smoke), and one short run of
#               the benchmarks
# Everything else here is a building block of those two.

JOBS ?= 2
BUILD ?= build
CMAKE_COMMON = -DRINGDB_WERROR=ON

.PHONY: demo io-demo kv-server test setup lint debug asan tsan release bench bench-smoke test-debug test-asan \
        test-tsan fuzz fuzz-smoke clean

demo: setup release
	$(BUILD)/release/examples/demo

# The Asio key-value server example (examples/kv_server, docs/asio.md): serves
# 127.0.0.1:$(KV_PORT) with its database in $(BUILD)/kv_server.ringdb until Ctrl-C.
KV_PORT ?= 7878
kv-server: setup release
	$(BUILD)/release/examples/kv_server/kv_server --db $(BUILD)/kv_server.ringdb --port $(KV_PORT)

# The I/O layer on its own: concurrent writes, O_DIRECT reads at depth 1 and 32, two rings.
io-demo: setup release
	$(BUILD)/release/examples/io_demo

test: setup lint test-debug test-asan test-tsan fuzz-smoke bench-smoke
	@echo "make test: all suites passed"

setup:
	@bash tools/setup.sh

# The lint, then its self-test (tools/lint_test plants one violation per rule in a copy of
# the tree); both always run and report, and the target fails if either fails.
lint:
	@status=0; bash tools/lint || status=$$?; bash tools/lint_test || status=1; exit $$status

debug:
	cmake -S . -B $(BUILD)/debug -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
	    -DCMAKE_CXX_FLAGS="-O0 -g" -DRINGDB_HEADER_CHECK=ON $(CMAKE_COMMON) >/dev/null
	cmake --build $(BUILD)/debug -j$(JOBS)

asan:
	cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
	    -DCMAKE_CXX_FLAGS="-O1 -g" -DRINGDB_SANITIZE=address,undefined $(CMAKE_COMMON) >/dev/null
	cmake --build $(BUILD)/asan -j$(JOBS)

tsan:
	cmake -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
	    -DCMAKE_CXX_FLAGS="-O1 -g" -DRINGDB_SANITIZE=thread -DRINGDB_BUILD_ASIO=OFF \
	    $(CMAKE_COMMON) >/dev/null
	cmake --build $(BUILD)/tsan -j$(JOBS)

# libFuzzer targets (fuzz/): clang-14, -fsanitize=fuzzer with ASan+UBSan; the libraries get
# coverage instrumentation (fuzzer-no-link).
fuzz:
	cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
	    -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=fuzzer-no-link" -DRINGDB_SANITIZE=address,undefined \
	    -DRINGDB_BUILD_TESTS=OFF -DRINGDB_BUILD_ASIO=OFF -DRINGDB_BUILD_FUZZ=ON \
	    $(CMAKE_COMMON) >/dev/null
	cmake --build $(BUILD)/fuzz -j$(JOBS) --target fuzz_targets

# Replays the saved corpus of each target, then fuzzes each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
fuzz-smoke: fuzz
	bash tools/fuzz_smoke $(BUILD)/fuzz $(FUZZ_SECONDS)

release:
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release -DRINGDB_BUILD_TESTS=OFF \
	    -DRINGDB_BUILD_BENCH=ON $(CMAKE_COMMON) >/dev/null
	cmake --build $(BUILD)/release -j$(JOBS)

bench: setup release
	$(BUILD)/release/bench/io_bench --dir $(BUILD)
	$(BUILD)/release/bench/kv_bench --dir $(BUILD)
	$(BUILD)/release/bench/commit_bench --dir $(BUILD)
	$(BUILD)/release/bench/peer_commit_bench --dir $(BUILD)
	$(BUILD)/release/bench/vector_bench --dir $(BUILD)
	$(BUILD)/release/bench/feature_bench --dir $(BUILD)

# Benchmarks are not tests: CI only checks that they build and run (one short iteration).
bench-smoke: release
	$(BUILD)/release/bench/io_bench --quick --dir $(BUILD)
	$(BUILD)/release/bench/kv_bench --quick --dir $(BUILD)
	$(BUILD)/release/bench/commit_bench --quick --dir $(BUILD)
	$(BUILD)/release/bench/peer_commit_bench --quick --dir $(BUILD)
	$(BUILD)/release/bench/vector_bench --quick --dir $(BUILD)
	$(BUILD)/release/bench/feature_bench --quick --dir $(BUILD)

test-debug: debug
	cd $(BUILD)/debug && ctest --output-on-failure -j$(JOBS)

test-asan: asan
	cd $(BUILD)/asan && \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j$(JOBS)

test-tsan: tsan
	cd $(BUILD)/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)
