# CloudJet — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
DATA_DIR ?= ./data
PYTHON ?= /usr/bin/python3
PYTEST_ARGS ?=

.PHONY: run test deps deps-test deps-deploy build build-server build-asan unit-test unit-test-asan \
        integration-test dep-audit tool-test deploy-test fresh-test fresh-test-quick bench format \
        lint api-lint api-docs clean

run: deps build-server
	./$(BUILD_DIR)/cloudjet serve --data-dir $(DATA_DIR)

test: deps-test build dep-audit api-lint build-asan unit-test unit-test-asan tool-test integration-test

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

deps-deploy:
	@scripts/install-deps.sh --test --deploy

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR)

# Only what `make run` needs: the server binary, not the unit tests.
build-server: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) --target cloudjet

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCLOUDJET_SANITIZE=ON

build-asan: $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR)

unit-test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --timeout 120

unit-test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure --timeout 300

# Black-box tests: the real binary over HTTP, on SQLite and on a real MariaDB + redis-server that
# the harness starts on loopback with throw-away data dirs. Then the ASan/UBSan binary runs the
# SQLite half too, so memory errors and leaks on real request paths fail the build.
integration-test: build build-asan
	CLOUDJET_BIN=$(CURDIR)/$(BUILD_DIR)/cloudjet \
	  $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider $(PYTEST_ARGS)
	CLOUDJET_BIN=$(CURDIR)/$(ASAN_DIR)/cloudjet CLOUDJET_TEST_BACKENDS=sqlite \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider $(PYTEST_ARGS)

# Every header the build read and every library the binary links must come from a package that
# scripts/install-deps.sh installs (directly or through its dependencies).
dep-audit: build
	$(PYTHON) scripts/dep-audit.py --build-dir $(BUILD_DIR)

# The API description (docs/openapi.yaml): Redocly's recommended rules (redocly.yaml), with the
# CLI pinned in package-lock.json and installed by `scripts/install-deps.sh --test` (npm ci).
# The integration tests hold the document to the code (tests/integration/openapi_check.py).
REDOCLY = REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly
api-lint: deps-test
	$(REDOCLY) lint docs/openapi.yaml

# A browsable HTML rendering of the document (not part of `make test`), self-contained: no web
# font, and Redoc's script inlined from node_modules instead of loaded from a CDN.
api-docs: deps-test
	mkdir -p $(BUILD_DIR)
	$(REDOCLY) build-docs docs/openapi.yaml --disableGoogleFont -o $(BUILD_DIR)/api-docs.html
	$(PYTHON) scripts/inline-redoc.py $(BUILD_DIR)/api-docs.html

# The project's own tooling: the dependency audit, the Kubernetes manifests, the nginx gateway.
tool-test: build
	CLOUDJET_BIN=$(CURDIR)/$(BUILD_DIR)/cloudjet BUILD_DIR=$(BUILD_DIR) \
	  $(PYTHON) -m pytest tests/tools tests/deploy -q -p no:cacheprovider $(PYTEST_ARGS)

# The image, the compose stack and a smoke journey through the containers (podman by default).
deploy-test: deps-deploy
	scripts/deploy-test.sh

# A clean clone inside a pristine Debian 12 container: `make run` to five healthy services, the
# dependency audit, then `make test` (fresh-test-quick stops after the audit).
fresh-test: deps-deploy
	scripts/fresh-test.sh

fresh-test-quick: deps-deploy
	scripts/fresh-test.sh --run-only

# The Postman collection (docs/CloudJet-API.postman_collection.json) by newman against a running
# server: all five services on one port (or the gateway), started with the admin password and
# Bootpay key this shell exports, e.g.
#   export CLOUDJET_ADMIN_PASSWORD=... BOOTPAY_PRIVATE_KEY=...; SINGLE_PORT=8080 make run
#   make newman                      # NEWMAN_BASE_URL=http://127.0.0.1:5000 for the gateway
# (make test runs the same collection on SQLite and MariaDB + Redis: tests/integration/test_newman.py)
NEWMAN_BASE_URL ?= http://127.0.0.1:8080
.PHONY: newman
newman: deps-test
	@test -n "$$CLOUDJET_ADMIN_PASSWORD" -a -n "$$BOOTPAY_PRIVATE_KEY" || { echo "make newman:" \
	  "export the server's CLOUDJET_ADMIN_PASSWORD and BOOTPAY_PRIVATE_KEY" >&2; exit 2; }
	tests/newman/node_modules/.bin/newman run docs/CloudJet-API.postman_collection.json \
	  --environment docs/test-environment.json --env-var baseUrl=$(NEWMAN_BASE_URL) \
	  --env-var adminPassword="$$CLOUDJET_ADMIN_PASSWORD" --env-var bootpayPrivateKey="$$BOOTPAY_PRIVATE_KEY" \
	  --env-var bootpayApplicationId="$$BOOTPAY_REST_API_KEY"

# wrk scenarios on both backends: a table on stdout, JSON in bench/results/ (bench/RESULTS.md).
# BENCH_ARGS e.g. "--backends sqlite --duration 3 --perf mixed".
BENCH_ARGS ?=
bench: deps-test build
	$(PYTHON) bench/run.py $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp')

# clang-tidy needs a compile database without GCC's precompiled header.
lint:
	cmake -S . -B build-lint -G Ninja -DCLOUDJET_PCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
	cmake --build build-lint --target cloudjet_lib >/dev/null
	git ls-files 'src/*.cpp' | xargs -P2 -n4 clang-tidy -p build-lint --quiet

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-lint build-release
