# Sluice — the two set-up commands: `make run` and `make test`. Both work on a fresh Debian 12.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
SLUICE := $(BUILD_DIR)/src/cli/sluice

.PHONY: all deps build binary run test unit bench format clean

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

# Installs what the tests need, builds, runs every test. Tests start (and stop) the services they
# use themselves: PostgreSQL, the S3 server, the SMTP sink, `sluice serve`.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2 --timeout 900

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2 -L unit

bench: build
	bash bench/run-all

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
