# WebSands: the front door.
#   make run    build and start the whole stack on http://127.0.0.1:8080
#   make stop   stop what `make run` started
#   make test   build, then run every test (plain and sanitizer builds)
#   make bench  the benchmarks, as ratios measured in one run

BUILD      ?= build
ASAN_BUILD ?= build-asan
RUN_DIR    ?= .run
JOBS       ?= $(shell nproc)
HARNESS    := tests/harness
# The build's own make runs below this one; its directory chatter
# would bury what `make run` prints.
MAKEFLAGS  += --no-print-directory

.PHONY: all deps build build-asan test test-plain test-asan run stop \
	bench clean

all: build

deps:
	@$(HARNESS)/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# AddressSanitizer and UBSan over the library, the programs and tests.
build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DWEBSANDS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

test: test-plain test-asan

test-plain: build
	@$(HARNESS)/run-tests.sh $(BUILD)

test-asan: build-asan
	@$(HARNESS)/run-tests.sh $(ASAN_BUILD)

run: build
	@$(HARNESS)/stack.sh start --mode run --run-dir $(RUN_DIR) \
	    --build-dir $(BUILD)
	@. $(RUN_DIR)/stack.env; \
	echo "WebSands is running at $$WS_BASE_URL"; \
	echo "  health:   $$WS_BASE_URL/health"; \
	echo "  mail:     every message lands as a file in $$WS_MAIL_DIR/new/"; \
	echo "  database: $$WS_DATABASE_URL"; \
	echo "  logs:     $(RUN_DIR)/*.log; stop it all with: make stop"

stop:
	@$(HARNESS)/stack.sh stop --run-dir $(RUN_DIR)

bench: build
	@$(HARNESS)/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
