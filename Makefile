# Sluice — the two set-up commands: `make run` and `make test`. Both work on a fresh Debian 12.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
SLUICE := $(BUILD_DIR)/src/cli/sluice

.PHONY: all deps build binary run test unit bench format clang tidy fuzz module-graph clean

all: build

deps:
	bash scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the `sluice` binary (what `make run` needs).
binary: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS) --target sluice

# Builds, then runs the main job on embedded defaults (see README.md, "The main job").
run: binary
	bash scripts/run-example

# Installs what the tests need, builds, runs every test, then each fuzz target for 5 seconds (see
# fuzz). Tests start (and stop) the services they use themselves: PostgreSQL, the S3 server, the
# SMTP sink, `sluice serve`.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2 --timeout 900
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2 -L unit

bench: build
	bash bench/run-all

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

# Static checks, not part of `make test` (CI time). ccache is used when installed.
CCACHE := $(shell command -v ccache 2>/dev/null)
LAUNCHER := $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE) -DCMAKE_C_COMPILER_LAUNCHER=$(CCACHE))

# The whole tree with clang++ and -Wthread-safety -Werror on our code (build-clang/).
clang: deps
	cmake --preset clang $(LAUNCHER)
	cmake --build --preset clang -j $(JOBS)

# libFuzzer targets of tests/fuzz (docs/fuzzing.md), built with clang, coverage and ASan+UBSan in
# build-fuzz/, each run for FUZZ_SECONDS from its committed seed corpus; a crash fails.
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake --preset fuzz $(LAUNCHER)
	cmake --build --preset fuzz -j $(JOBS)
	bash scripts/run-fuzz $(FUZZ_SECONDS)

# The whole tree with clang-tidy (.clang-tidy) on every source; a finding fails the build (build-tidy/).
tidy: deps
	cmake --preset tidy $(LAUNCHER)
	cmake --build --preset tidy -j $(JOBS)

# Prints the module dependency graph declared in CMake (scripts/module-graph --write updates the docs).
module-graph:
	/usr/bin/python3 scripts/module-graph --build-dir $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
