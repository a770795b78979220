# Thin wrapper over CMake. `make demo` and `make test` are the README's two
# commands; both install what is missing first (scripts/deps.sh).
JOBS ?= 2
MAKEFLAGS += --no-print-directory
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

PREFIX ?= /usr/local

.PHONY: all deps build install uninstall test test-fast demo bench fuzz clean

all: build

deps:
	@sh scripts/deps.sh

# The product only: libmscada, the mscada executable and the examples.
# Packages are scripts/deps.sh's business, not the build's.
build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DMSCADA_TESTS=OFF -DMSCADA_BENCH=OFF >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory

# Into $(DESTDIR)$(PREFIX); `make uninstall` removes what the last install
# wrote (its manifest is kept in the build folder).
install: build
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory
	@cmake --install $(BUILD)
	@cp $(BUILD)/install_manifest.txt $(BUILD)/install_manifest.keep

uninstall:
	@sh scripts/uninstall.sh $(BUILD)/install_manifest.keep

# The whole suite: the normal build, then again under ASan + UBSan.
test: deps
	@sh scripts/test.sh

# Only the normal build's tests (quicker while working).
test-fast:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DMSCADA_TESTS=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: deps build
	@sh scripts/demo.sh $(BUILD)

bench: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DMSCADA_BENCH=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory
	@sh bench/run.sh $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DMSCADA_FUZZ=ON \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
