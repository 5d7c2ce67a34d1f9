# Retrace: the two commands of the README, plus benchmarks.
#   make demo   install what is missing, build, run a backtest on the bundled dataset
#   make test   install what is missing, build, run every test
SWIFT ?= swift
RELEASE_BIN = .build/release/retrace
DEBUG_BIN = .build/debug/retrace

.PHONY: deps build release demo test bench clean

deps:
	@Scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	$(RELEASE_BIN) demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	@mkdir -p Benchmarks/results
	$(RELEASE_BIN) bench --json | tee Benchmarks/results/$$(date -u +%Y%m%dT%H%M%SZ).json

clean:
	rm -rf .build Runs
