# The front door: `make demo` and `make test` are all a new user needs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=

.PHONY: all deps configure build test demo bench fuzz soak package package-test clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD_DIR)/build.ninja:
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

demo: build
	@tools/demo.sh $(BUILD_DIR)

bench: build
	@tools/bench.sh $(BUILD_DIR)

# Release packages: no failpoints, no tests, from their own build tree.
PACKAGE_DIR ?= build-release
package: deps
	@cmake -S . -B $(PACKAGE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTEWARD_FAILPOINTS=OFF \
	  -DSTEWARD_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(PACKAGE_DIR) -j $(JOBS)
	@cd $(PACKAGE_DIR) && cpack -G "DEB;RPM" >/dev/null && ls -1 $(CURDIR)/$(PACKAGE_DIR)/*.deb $(CURDIR)/$(PACKAGE_DIR)/*.rpm

# Every packaging check, including installs and upgrades in a bookworm root.
package-test: package
	@packaging/tests/run-all.sh $(PACKAGE_DIR)

# libFuzzer targets (clang 16+): FUZZ_SECONDS per target; findings in $(BUILD_DIR)/fuzz/findings.
FUZZ_SECONDS ?= 300
fuzz: build
	@tests/fuzz/run.sh $(BUILD_DIR)/fuzz $(FUZZ_SECONDS)

# The fleet soak (docs/soak.md): SOAK_MINUTES of faults on two controllers and twelve hosts,
# then convergence and the final checks; SOAK_SEED replays a run's fault choices.
SOAK_MINUTES ?= 10
SOAK_SEED ?=
soak: build
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target steward_soak_releases soak_fleet
	@$(BUILD_DIR)/bin/soak_fleet --minutes $(SOAK_MINUTES) $(if $(SOAK_SEED),--seed $(SOAK_SEED))

clean:
	@rm -rf $(BUILD_DIR) $(PACKAGE_DIR)
