# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCAL  := $(VENV)/.installed-local
DEV    := $(VENV)/.installed-dev
E2E    := $(VENV)/.installed-e2e
# The web UI (web/, React + Vite) builds into chalicelib/ui/, which the app serves at / and ships
# in the Lambda package. It is rebuilt only when its sources change (the stamp files).
WEB_DEPS := web/node_modules/.installed
# Node clients the pytest suite drives against the server (the Vercel AI SDK), pinned in tests/node.
NODE_CLIENTS := tests/node/node_modules/.installed
UI       := chalicelib/ui/.built
WEB_SRC  := $(wildcard web/index.html web/package.json web/vite.config.ts web/tsconfig.json web/scripts/*) \
            $(shell find web/src -type f 2>/dev/null)
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEPLOY   := $(VENV)/.installed-deploy
STAGE    ?= dev
CDK_FLAGS ?=

.PHONY: serve test bench clean ui synth deploy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(LOCAL): requirements.txt requirements-local.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-local.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(DEV): $(LOCAL) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The CDK libraries, and the Lambda-platform wheels that `chalice package` bundles: fetched once
# here (into .chalice/deployments/), so the deploy tests synthesise offline.
$(DEPLOY): $(DEV) requirements-deploy.txt requirements.txt
	$(BIN)/pip install -q -r requirements-deploy.txt
	rm -rf $(VENV)/chalice-package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true $(BIN)/chalice package --stage prod $(VENV)/chalice-package >/dev/null
	touch $@

$(E2E): $(DEV) requirements-e2e.txt
	$(BIN)/pip install -q -r requirements-e2e.txt
	touch $@

$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the web UI needs Node.js 20.19+ (with npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $@

$(NODE_CLIENTS): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the client tests need Node.js 20+ (with npm)"; exit 1; }
	cd tests/node && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(UI): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run build
	touch $@

# `make serve` without Node.js still serves the API (GET / then says the UI is not built).
ui:
ifeq ($(shell command -v npm 2>/dev/null),)
	@echo "note: npm not found, so the web UI is not built; install Node.js 20.19+ to get it"
else
	@$(MAKE) --no-print-directory $(UI)
endif

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

serve: $(LOCAL) ui
	$(BIN)/aihub serve

test: $(DEV) $(DEPLOY) $(E2E) $(UI) $(CHROMIUM) $(NODE_CLIENTS)
	cd web && npm test
	AIHUB_E2E=required $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV)
	$(BIN)/python -m tests.bench

# `make synth STAGE=prod`: the CloudFormation of one stage in infra/cdk.out (no AWS account needed).
synth: $(DEPLOY)
	cd infra && STAGE=$(STAGE) ../$(BIN)/python app.py
	@echo "synthesised stage $(STAGE) into infra/cdk.out"

# `make deploy STAGE=prod`: needs AWS credentials and a `cdk bootstrap`ped account (docs/DEPLOY.md).
deploy: $(DEPLOY)
	cd infra && npm ci --no-audit --no-fund --loglevel=error
	cd infra && npx --no-install cdk deploy --context stage=$(STAGE) $(CDK_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache web/node_modules tests/node/node_modules chalicelib/ui
