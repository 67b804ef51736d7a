# Command Center — the project's front door. `make help` lists the targets.
# Nothing here needs Docker, apt or a system service: PostgreSQL and Redis are embedded (.run/) unless
# DATABASE_URL / REDIS_URL point at real ones.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  := $(PY) -m devstack

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench migrations messages stop clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime  ## Install, migrate, load code tables + demo, start web + ws + worker + beat + simulator (SIMULATE=0: none)
	$(STACK) run

test: $(VENV)/.dev  ## The whole test suite on PostgreSQL and Redis (extra args: make test ARGS="-k clocks")
	$(STACK) test $(ARGS)

lint: $(VENV)/.dev  ## ruff check, ruff format --check, mypy, the architecture's import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-logo --no-cache

format: $(VENV)/.dev  ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev  ## Run the benches into bench/results.json (one: ARGS=day; small sizes: QUICK=1)
	$(STACK) bench $(if $(filter-out 0,$(QUICK)),--quick) $(ARGS)

migrations: $(VENV)/.dev  ## Make migrations after a model change (needs the services)
	eval "$$($(STACK) env)" && $(PY) manage.py makemigrations

messages: $(VENV)/.dev  ## Refresh locale/*.po from the sources and compile them (needs GNU gettext)
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=.run --ignore=tests --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv

stop:  ## Stop the embedded PostgreSQL and Redis left running
	$(STACK) stop

clean: stop  ## Remove .run/ (all local data!) and the virtualenv
	rm -rf .run $(VENV)
