# Retrace: the two commands of the README, plus benchmarks.
#   make demo   install what is missing, build, run a backtest on the bundled dataset
#   make test   install what is missing, build, run every test
SWIFT ?= swift
RELEASE_BIN = .build/release/retrace
DEBUG_BIN = .build/debug/retrace

.PHONY: deps build release demo test bench fuzz notebooks ray-test peer-bench clean

deps:
	@Scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	$(RELEASE_BIN) demo

# The tests write their scratch runs under one temporary directory of their own, removed
# afterwards whatever the outcome (suites share imported data runs for their whole life).
test: deps
	$(SWIFT) build --build-tests
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/retrace-tests.XXXXXX") && echo "scratch: $$tmp" && \
	  { TMPDIR="$$tmp" $(SWIFT) test --skip-build; rc=$$?; rm -rf "$$tmp"; exit $$rc; }

bench: release
	@mkdir -p Benchmarks/results
	$(RELEASE_BIN) bench --mode full --json --compare Benchmarks/baseline.json | tee Benchmarks/results/$$(date -u +%Y%m%dT%H%M%SZ).json

# The Jupyter notebooks, executed headless against the demo run and the committed incident
# (a venv in .venv-notebooks with pandas, matplotlib, nbclient; outputs in Runs/notebooks).
notebooks: release
	Scripts/notebooks

# Retrace against NautilusTrader and hftbacktest (W1–W6), three alternating runs each;
# writes Benchmarks/peers/latest.json and latest.md (PEER_BENCH_ARGS="--scale 0.1" for a quick look).
peer-bench: release
	@mkdir -p Benchmarks/peers
	Scripts/peer-bench --json Benchmarks/peers/latest.json --markdown Benchmarks/peers/latest.md $(PEER_BENCH_ARGS)

# Sweeps through Ray: a venv with Ray, a single-node head on 127.0.0.1, the same sweeps
# locally and through Ray compared, the sweep benchmark through the head, Ray stopped.
ray-test: release
	Scripts/ray-test

# libFuzzer over the journal's record decoder and segment scanner (FUZZ_SECONDS, default 60).
# Seeds: a synthetic journal segment and the start of the demo dataset's journal.
FUZZ_SECONDS ?= 60
fuzz: deps build
	$(SWIFT) build --scratch-path .build-fuzz --product journal-fuzz --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	rm -rf .build-fuzz/seeds && mkdir -p .build-fuzz/corpus
	$(DEBUG_BIN) journal append-test .build-fuzz/seeds/synthetic --sync none --records 20 --record-bytes 80 > /dev/null
	$(DEBUG_BIN) import quotes-csv Datasets/demo/quotes.csv --out .build-fuzz/seeds/events > /dev/null
	cp .build-fuzz/seeds/synthetic/journal/00000000.wal .build-fuzz/corpus/synthetic.wal
	head -c 4096 .build-fuzz/seeds/events/journal/00000000.wal > .build-fuzz/corpus/events.wal
	SWIFT_BACKTRACE=enable=no .build-fuzz/debug/journal-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 .build-fuzz/corpus

clean:
	rm -rf .build .build-fuzz Runs
