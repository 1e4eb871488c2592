# meshctl — thin aliases over deno tasks. Uses `deno` from PATH when it is the pinned
# version, otherwise installs the pinned Deno from npm into .tools/ (git-ignored).
DENO_VERSION := 2.9.6
LOCAL_DENO := .tools/node_modules/.bin/deno
DENO := $(shell if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | head -n1 | grep -q "^deno $(DENO_VERSION) "; then echo deno; else echo $(LOCAL_DENO); fi)
# The exact permissions the binary gets; `deno task meshctl` uses the same list (tests/permissions_test.ts checks).
RUN_FLAGS := --no-prompt --unstable-net --allow-net --allow-read --allow-write --allow-sys=hostname,osRelease --allow-env=NO_COLOR,TERM,MESHCTL_LOG_LEVEL,MESHCTL_LOG_FORMAT,LOG_TOKENS,LOG_STREAM,GRPC_*,grpc_proxy,http_proxy,https_proxy,no_grpc_proxy,no_proxy --v8-flags=--max-semi-space-size=4,--heap-growing-percent=50,--enable-experimental-regexp-engine,--enable-experimental-regexp-engine-on-excessive-backtracks
CONFIG ?= config/meshctl.yaml

.PHONY: deno deps run test build bench bench-workers soak check lint fmt clean xds-protos

deno:
	@if [ "$(DENO)" = "$(LOCAL_DENO)" ] && [ ! -x $(LOCAL_DENO) ]; then \
	  echo "installing deno@$(DENO_VERSION) from npm into .tools/"; \
	  mkdir -p .tools && npm install --prefix .tools --no-audit --no-fund --silent deno@$(DENO_VERSION); \
	fi

deps: deno
	@$(DENO) install --frozen >/dev/null

run: deps
	$(DENO) run $(RUN_FLAGS) main.ts serve $(CONFIG)

test: deps
	$(DENO) task test

check: deps
	$(DENO) task check

lint: deps
	$(DENO) lint

fmt: deps
	$(DENO) fmt

# Regenerates src/xds/_protos/envoy_v3.json from npm:@grpc/grpc-js-xds's Envoy protos (check it in).
xds-protos: deps
	$(DENO) run --no-prompt --allow-read --allow-write=src/xds/_protos scripts/gen_xds_descriptor.ts

# e.g. `make bench BENCH_ARGS="--only http2"` (see `deno run -A bench/run.ts --help`)
BENCH_ARGS ?=

bench: deps
	$(DENO) run -A bench/run.ts $(BENCH_ARGS)

# Workers across cores: --concurrency 1 vs 2 (and 2 on one core), e.g. BENCH_ARGS="--rounds 5 --origin"
bench-workers: deps
	$(DENO) run -A bench/workers_scaling.ts $(BENCH_ARGS)

# Soak (issue 13): SOAK_SECONDS (default 600) of HTTP/1 + bolt load with reloads and upstream restarts,
# meshctl and wrk pinned apart, RSS sampled; exit 1 on any failed request or RSS growth. Not in `make test`.
soak: deps
	$(DENO) run -A bench/soak.ts

build: deps
	@mkdir -p dist
	@if [ -n "$$DENORT_BIN" ] && [ ! -x "$$DENORT_BIN" ]; then \
	  echo "make build: DENORT_BIN=$$DENORT_BIN is not an executable denort binary." >&2; exit 1; fi
	@$(DENO) compile $(RUN_FLAGS) --include src/server/worker_main.ts --output dist/meshctl main.ts >dist/compile.log 2>&1 || { \
	  if grep -qiE "denort|download" dist/compile.log; then \
	    echo "make build: deno compile could not obtain the denort runtime; download the denort $(DENO_VERSION) release for this platform and run 'DENORT_BIN=/path/to/denort make build' (details: dist/compile.log)." >&2; \
	  else echo "make build: deno compile failed (details: dist/compile.log)." >&2; fi; exit 1; }
	@echo "built dist/meshctl"

clean:
	rm -rf dist bench/out
