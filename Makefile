# fypass — the two commands a new user needs:
#
#   make run    build the release and serve it on SQLite at http://localhost:3000
#   make test   run every test (unit, integration over HTTP, browser)
#
# Both install what is missing first (`make tools`), at the versions pinned here and in
# Cargo.lock / end2end/package-lock.json, and skip what is already installed.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

# Builds live outside the clone, so a fresh clone (CI) reuses the previous build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/fypass/target
# The LEPTOS_* settings read at compile time are in .cargo/config.toml ([env]), so plain
# cargo and cargo-leptos compile alike.
# wasm-opt (npm package binaryen) and terser for the release front end.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
# The wasm-bindgen CLI must equal the library version in Cargo.lock.
WASM_BINDGEN_VERSION = $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p;}' Cargo.lock)
FEATURES := --no-default-features --features ssr
BIN := $(CARGO_TARGET_DIR)/release/fypass
BUILD_STAMP := $(CARGO_TARGET_DIR)/fypass.built-from
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
SCHEMATHESIS_VERSION := 4.32.5
VENV := $(HOME)/.cache/fypass/venv

.PHONY: run dev build bundles test test-rust test-rust-build test-dev test-e2e test-postgres pgbouncer pgbouncer-stop tools tools-build tools-wasm tools-test clean FORCE

## Build the release and serve it on SQLite (./data/fypass.db) at localhost:3000 (a host
## name, so that passkeys work: browsers refuse them on an IP address).
run: build
	FYPASS_PUBLIC_URL="$${FYPASS_PUBLIC_URL:-http://localhost:3000}" $(BIN) serve

## Every test: unit and integration tests (SQLite), then the browser tests and the API
## contract test against the same release build. The release build, the test binaries and
## the browser tests' tools are made side by side: on a fresh machine the test build
## compiles while cargo-leptos does, and the downloads overlap both. (The test build and the
## release share the server's compiled crates: `cargo test --release` builds with release
## settings.)
test:
	@$(MAKE) --no-print-directory -j3 --output-sync=recurse build tools-test test-rust-build
	@$(MAKE) --no-print-directory test-rust test-e2e

## The integration tests against PostgreSQL (needs a server at POSTGRES_TEST_URL): directly,
## then with every app (two nodes in the multi-node tests) going through PgBouncer in
## transaction pooling mode, as deployments with many app nodes run.
test-postgres: pgbouncer
	FYPASS_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) cargo test --release $(FEATURES) --test integration
	FYPASS_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) FYPASS_TEST_POOLER_URL=$(PGBOUNCER_TEST_URL) \
	  cargo test --release $(FEATURES) --test integration

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# PgBouncer (Debian's, 1.18) in transaction pooling mode in front of the test server. Port
# 6433: Debian's own pgbouncer service, where one runs, listens on 6432.
PGBOUNCER_PORT ?= 6433
PGBOUNCER_DIR ?= /tmp/fypass-pgbouncer
PGBOUNCER_TEST_URL ?= postgres://postgres@127.0.0.1:$(PGBOUNCER_PORT)/test
# PgBouncer refuses to run as root: as root (CI) it runs as the postgres user.
AS_PGBOUNCER := $(if $(filter 0,$(shell id -u)),runuser -u postgres --,)

## Starts PgBouncer at 127.0.0.1:$(PGBOUNCER_PORT) in front of 127.0.0.1:5432 (installing
## Debian's package if missing); one already running is left as it is. Few server
## connections (default_pool_size), so that a statement left on one shows at once.
pgbouncer:
	@command -v pgbouncer >/dev/null \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq pgbouncer; }
	@if pg_isready -q -h 127.0.0.1 -p $(PGBOUNCER_PORT); then exit 0; fi; \
	  mkdir -p $(PGBOUNCER_DIR) && rm -f $(PGBOUNCER_DIR)/pgbouncer.pid; \
	  printf '%s\n' \
	    '[databases]' \
	    '* = host=127.0.0.1 port=5432' \
	    '[pgbouncer]' \
	    'listen_addr = 127.0.0.1' \
	    'listen_port = $(PGBOUNCER_PORT)' \
	    'unix_socket_dir =' \
	    'auth_type = trust' \
	    'auth_file = $(PGBOUNCER_DIR)/userlist.txt' \
	    'pool_mode = transaction' \
	    'ignore_startup_parameters = extra_float_digits' \
	    'default_pool_size = 4' \
	    'max_client_conn = 500' \
	    'query_wait_timeout = 3' \
	    'server_login_retry = 1' \
	    'logfile = $(PGBOUNCER_DIR)/pgbouncer.log' \
	    'pidfile = $(PGBOUNCER_DIR)/pgbouncer.pid' \
	    > $(PGBOUNCER_DIR)/pgbouncer.ini; \
	  printf '"%s" ""\n' postgres root "$$(id -un)" | sort -u > $(PGBOUNCER_DIR)/userlist.txt; \
	  [ -z "$(AS_PGBOUNCER)" ] || chown -R postgres: $(PGBOUNCER_DIR); \
	  $(AS_PGBOUNCER) pgbouncer -d $(PGBOUNCER_DIR)/pgbouncer.ini; \
	  for _ in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p $(PGBOUNCER_PORT) && exit 0; sleep 0.1; done; \
	  echo "PgBouncer did not start; see $(PGBOUNCER_DIR)/pgbouncer.log" >&2; exit 1

## Stops it (SIGINT: PgBouncer's safe shutdown), if it runs.
pgbouncer-stop:
	@pid=$$(cat $(PGBOUNCER_DIR)/pgbouncer.pid 2>/dev/null) && kill -INT "$$pid" 2>/dev/null \
	  && for _ in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p $(PGBOUNCER_PORT) || break; sleep 0.1; done; \
	  rm -f $(PGBOUNCER_DIR)/pgbouncer.pid

test-rust:
	cargo test --release $(FEATURES)

test-rust-build:
	cargo test --release $(FEATURES) --no-run

## The edit loop: a debug build served at http://localhost:3000, rebuilt and restarted on
## each save (`cargo leptos watch`): no wasm-opt, no compression, the whole front end only,
## unhashed names read from disk, in a site directory of its own (`make run`'s is left
## alone). It shares the server's debug build with `cargo test` (same features, flags and
## compile-time LEPTOS_* values: Cargo.toml's metadata and .cargo/config.toml).
dev: tools-build
	LEPTOS_SITE_ROOT=$(CARGO_TARGET_DIR)/site-dev LEPTOS_HASH_FILES=false \
	  FYPASS_PUBLIC_URL="$${FYPASS_PUBLIC_URL:-http://localhost:3000}" cargo leptos watch

## The unit and integration tests in debug (quicker to rebuild after an edit than the
## release's; shares `make dev`'s server build).
test-dev:
	cargo test $(FEATURES)

test-e2e: build tools-test
	BIN=$(BIN) SCHEMATHESIS=$(VENV)/bin/schemathesis end2end/run.sh

## The release build: server binary, WASM, CSS, precompressed with brotli and gzip.
build: $(BUILD_STAMP)

# cargo-leptos runs wasm-bindgen, wasm-opt and the compression again on every build (about
# 50 s) even when cargo compiled nothing, so it runs only when a file the build is made
# from changed since the last build, or that build was made from another clone (the
# build directory is shared), or its binary is gone.
BUILD_INPUTS := $(shell find src style public migrations .cargo build.rs Cargo.toml Cargo.lock Makefile -type f 2>/dev/null)
ifneq ($(shell cat $(BUILD_STAMP) 2>/dev/null),$(CURDIR))
  BUILD_FORCE := FORCE
endif
ifeq ($(wildcard $(BIN)),)
  BUILD_FORCE := FORCE
endif

FRONT := $(CARGO_TARGET_DIR)/front
WASM := $(FRONT)/wasm32-unknown-unknown/wasm-release
PKG := $(CARGO_TARGET_DIR)/site/pkg
# Each front end's last WASM, and the finished files made from it.
KEPT := $(FRONT)/kept
BUNDLES := $(shell sed -n 's/^bundle-\([a-z-]*\) = .*/\1/p' Cargo.toml)

# $(call front_wasm,NAME,FEATURES): the WASM of one front end, `$(KEPT)/NAME.wasm`, compiled
# exactly as cargo-leptos compiles the whole one. A cdylib's files carry no hash, so the
# three front ends share one fingerprint in cargo's eyes and each build of one makes the
# next of another recompile and relink. So each is kept with the list of files rustc read
# for it (its dep-info), and cargo runs only when one of those, the build's own inputs or
# the compiler changed since the build started (a file saved during it counts as changed):
# a server-only edit relinks no WASM.
define front_wasm
if [ -f $(KEPT)/$(1).wasm ] && [ "$$(rustc -V)" = "$$(cat $(KEPT)/$(1).rustc 2>/dev/null)" ] \
  && [ -z "$$( { sed -n '1s/^[^:]*://p' $(KEPT)/$(1).d | tr ' ' '\n'; \
                 find build.rs Cargo.toml Cargo.lock .cargo src/locales -type f; } | grep . \
               | while read -r f; do [ -e "$$f" ] && [ ! "$$f" -nt $(KEPT)/$(1).wasm ] || echo "$$f"; done)" ]; then \
  echo "front end $(1): unchanged"; \
else \
  mkdir -p $(KEPT) && touch $(KEPT)/$(1).started \
  && cargo build --package=fypass --lib --target-dir=$(FRONT) --target=wasm32-unknown-unknown \
    --no-default-features --features=$(2) --profile=wasm-release \
  && cp $(WASM)/deps/fypass.wasm $(KEPT)/$(1).wasm && cp $(WASM)/deps/fypass.d $(KEPT)/$(1).d \
  && touch -r $(KEPT)/$(1).started $(KEPT)/$(1).wasm && rustc -V > $(KEPT)/$(1).rustc; \
fi
endef
# What the whole front end's site is made from: when it is what the current site was made
# from, cargo-leptos builds only the server (its front-end steps take about 50 s).
SITE_KEY = cat $(KEPT)/whole.wasm $$(find style public -type f | sort) Cargo.toml | sha256sum

# The stamp takes the time the build started, so a file saved while it ran is newer and
# the next `make build` builds again.
$(BUILD_STAMP): $(BUILD_INPUTS) $(BUILD_FORCE) | tools-build
	@started=$$(date +%s.%N) \
	  && $(call front_wasm,whole,hydrate) \
	  && if [ -d $(PKG) ] && [ "$$($(SITE_KEY))" = "$$(cat $(KEPT)/site.key 2>/dev/null)" ]; then \
	       cargo leptos build --release --precompress --server-only; \
	     else \
	       rm -f $(KEPT)/site.key && cargo leptos build --release --precompress && $(SITE_KEY) > $(KEPT)/site.key; \
	     fi \
	  && $(MAKE) --no-print-directory bundles \
	  && echo "$(CURDIR)" > $@ && touch -d "@$$started" $@

# The smaller front ends of src/bundles.rs (`pkg/fypass-<bundle>.*`; the bundles are the
# `bundle-*` features): the library built with only that bundle's islands, then what
# cargo-leptos does to the whole front end (wasm-bindgen, wasm-opt -Oz, the JS minified,
# names hashed from the content, brotli and gzip beside each file), done again only when
# the bundle's WASM changed. They are compiled in cargo-leptos' own target directory for
# the WASM, so they reuse its dependencies.
bundles: tools-build
	@for bundle in $(BUNDLES); do \
	  name=fypass-$$bundle; \
	  $(call front_wasm,$$bundle,bundle-$$bundle); \
	  done=$(KEPT)/$$bundle.pkg-$$(sha256sum $(KEPT)/$$bundle.wasm | cut -c 1-16); \
	  if [ ! -d $$done ]; then \
	    out=$$(mktemp -d); \
	    wasm-bindgen --target web --no-typescript --out-dir $$out --out-name $$name $(KEPT)/$$bundle.wasm; \
	    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
	      $$out/$${name}_bg.wasm -o $$out/$$name.wasm; \
	    terser $$out/$$name.js --module --compress --mangle -o $$out/$$name.min.js; \
	    rm -rf $(KEPT)/$$bundle.pkg-* && mkdir -p $$done.new; \
	    for kind in js wasm; do \
	      from=$$out/$$name.$$kind; [ $$kind = js ] && from=$$out/$$name.min.js; \
	      file=$$done.new/$$name.$$(sha256sum $$from | cut -c 1-22).$$kind; \
	      cp $$from $$file; \
	      gzip -9 -n -k $$file; \
	      node -e 'const fs = require("fs"), f = process.argv[1]; fs.writeFileSync(f + ".br", require("zlib").brotliCompressSync(fs.readFileSync(f)))' $$file; \
	    done; \
	    rm -rf $$out; mv $$done.new $$done; \
	  fi; \
	  rm -f $(PKG)/$$name.*; cp -p $$done/* $(PKG)/; \
	  echo "front end $$name: $$(ls $(PKG)/$$name.*.wasm)"; \
	done

FORCE:

tools: tools-build tools-test

# The build tools compile once per machine, with their own light profile (no LTO, few
# optimisations: they orchestrate; the heavy work is rustc's, wasm-opt's and the
# compressors') and in a target directory of their own, which both share.
TOOLS_TARGET := $(HOME)/.cache/fypass/tools-target
LIGHT_PROFILE := CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=true
# cargo-leptos' slowest crates to compile (its --timings report, 2026-12-05: lightningcss
# 158 s, cargo-generate 68 s, rhai 67 s) are not optimised at all: `cargo leptos new`'s
# templating (cargo-generate, its rhai scripts) never runs here, and lightningcss reads one
# small stylesheet per build. swc, which minifies the JS, keeps opt-level 1.
UNOPTIMISED := $(foreach crate,lightningcss cargo-generate rhai,--config 'profile.release.package.$(crate).opt-level=0')
# cargo-leptos asks for a vendored OpenSSL (through cargo-generate, which `cargo leptos new`
# uses and fypass never does): compiling OpenSSL's C sources is minutes on two cores. Where
# the system's OpenSSL is there to link to (Debian's libssl-dev), openssl-sys links to it.
SYSTEM_OPENSSL := $(if $(shell pkg-config --exists openssl 2>/dev/null && echo yes),OPENSSL_NO_VENDOR=1)
# `--timings`: the install writes $(TOOLS_TARGET)/cargo-timings/, where its minutes go.

## Rust toolchain pieces, wasm-opt and the browser tests' npm packages (again whenever
## end2end/package-lock.json changed); idempotent.
tools-build: tools-wasm
	@cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $(CARGO_LEPTOS_VERSION)" \
	  || $(LIGHT_PROFILE) $(SYSTEM_OPENSSL) cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) \
	       --locked --features no_downloads --target-dir $(TOOLS_TARGET) --timings $(UNOPTIMISED)
	@wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
	  || $(LIGHT_PROFILE) cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force \
	       --target-dir $(TOOLS_TARGET)
	@[ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ] \
	  || npm ci --prefix end2end --no-audit --no-fund

## The compiler's WebAssembly target.
tools-wasm:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown

## Debian's Chromium for the browser tests (Playwright cannot download browsers here), and
## schemathesis from PyPI in a virtualenv for the contract test.
tools-test:
	@command -v chromium >/dev/null \
	  || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq \
	       && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium; }
	@$(VENV)/bin/schemathesis --version 2>/dev/null | grep -q " $(SCHEMATHESIS_VERSION)$$" \
	  || { { python3 -m venv $(VENV) \
	         || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq python3-venv && python3 -m venv --clear $(VENV); }; } \
	       && $(VENV)/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION); }

clean:
	cargo clean
