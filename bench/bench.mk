# Benchmarks (issue 7): bench/README.md. Included by the top Makefile; not part
# of `make check` (timings are noisy, tests must not be).
#
#   make bench                       every goal, full rounds; table on stdout
#   make bench BENCH_QUICK=1         10 rounds each (the minimum), for a quick look
#   make bench BENCH_GOALS="token chat"   some goals: token exchange chat login parallel proxy proxycost chatcost
#   make bench-deps                  install hyperfine, gh, time, jq, curl, nginx-light, wrk, nodejs, valgrind
#                                    (apt-get) and copilot-api (npm ci --prefix bench)
#
# Results go to $(BENCH_OUT): table.md, log.txt, results.jsonl and every raw
# sample as JSON.

# Included before the first target, this file must not make `bench` the default.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_OUT   ?= build/bench
BENCH_QUICK ?=
BENCH_GOALS ?=
# nginx-light and wrk: issue 14's proxy floor and load generator; nodejs runs
# bench/serve/upstream.js and copilot-api (bench/package-lock.json).
BENCH_DEB_PACKAGES = hyperfine gh time jq curl python3 binutils nginx-light wrk nodejs valgrind

bench: bench-deps all
	BENCH_BIN="$(CURDIR)/$(BIN)" BENCH_OUT="$(BENCH_OUT)" BENCH_QUICK="$(BENCH_QUICK)" \
	  bench/run.sh $(BENCH_GOALS)

# The same way as `make deps`: only what is missing, quietly, sudo when not root.
bench-deps:
	@missing=""; for p in $(BENCH_DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make bench-deps: installing$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Some nodejs builds carry npm, Debian's splits it out.
	@command -v npm >/dev/null || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends npm; }
	@# copilot-api, pinned by bench/package-lock.json; bench/node_modules is not tracked.
	@[ -f bench/node_modules/copilot-api/dist/main.js ] || npm ci --prefix bench --no-audit --no-fund

.PHONY: bench bench-deps

# copilot-serve: requests per second and added latency vs direct requests.
bench-serve: all
	BENCH_BIN="$(CURDIR)/$(BIN)" BENCH_OUT="$(BENCH_OUT)/serve" BENCH_QUICK="$(BENCH_QUICK)" bench/serve/run.sh
.PHONY: bench-serve
