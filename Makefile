# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCAL  := $(VENV)/.installed-local
DEV    := $(VENV)/.installed-dev
DEPLOY := $(VENV)/.installed-deploy
STAGE  ?= dev
CDK_FLAGS ?=

.PHONY: serve test bench clean synth deploy

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

serve: $(LOCAL)
	$(BIN)/aihub serve

test: $(DEV) $(DEPLOY)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) .pytest_cache
