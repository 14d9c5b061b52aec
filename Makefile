# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The one list of services (shared/src/opc_shared/services.toml) names what is installed and migrated.
SERVICE_LIST := shared/src/opc_shared/services.toml
SERVICE_NAMES := $(shell sed -n 's/^name *= *"\([^"]*\)".*/\1/p' $(SERVICE_LIST))
SERVICE_PACKAGES := $(shell sed -n 's/^package *= *"\([^"]*\)".*/\1/p' $(SERVICE_LIST))
PACKAGES := -e shared $(addprefix -e services/,$(SERVICE_NAMES)) -e deploy/devstack
SOURCES := requirements.txt shared/pyproject.toml services/*/pyproject.toml deploy/devstack/pyproject.toml $(SERVICE_LIST)

.PHONY: run test lint bench fuzz migrate clean install contracts

install: $(STAMP)

$(STAMP): $(SOURCES)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[make] installing pinned dependencies into $(VENV) …"
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -q -r requirements.txt
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -q --no-deps $(PACKAGES)
	@touch $(STAMP)

run: install
	$(PY) -m opc_devstack run

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check shared services deploy tests

# make bench (~8 min) | make bench BENCH_ARGS=--long (~25 min) | BENCH_ARGS="--broker tansu" | --quick
bench: install
	$(PY) tests/bench/bench.py $(BENCH_ARGS) --subsidy-args "$(SUBSIDY_BENCH_ARGS)" --matching-args "$(MATCHING_BENCH_ARGS)" --ledger-args "$(LEDGER_BENCH_ARGS)"

fuzz: install
	$(PY) -m opc_devstack.fuzz $(FUZZ_ARGS)

migrate: install
	@for svc in $(SERVICE_PACKAGES); do $(PY) -m $$svc migrate || exit 1; done

contracts: install
	$(PY) -m opc_shared.contracts shared/src/opc_shared/contracts/schemas

clean:
	-$(PY) -m opc_devstack clean 2>/dev/null
	rm -rf $(VENV) .pytest_cache .ruff_cache
