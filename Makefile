# The two commands of the README: `make run` serves the market, `make test` runs the suite.
# Both work on a fresh clone with only Python 3.11 installed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test install install-dev lint format sbom clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pins change.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_market --if-empty
	$(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python manage.py market_banner
	$(BIN)/python -m bazaar.run

# Two workers: the browser tests share one, one at a time, and the rest of the suite
# spreads over both (tests/conftest.py groups them; each worker has its own test
# database and Redis database). PYTEST_ARGS= runs in one process.
PYTEST_ARGS ?= --numprocesses 2 --dist loadgroup

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The software bill of materials (OWASP ASVS V14.2.5): every pinned package, CycloneDX.
sbom: install-dev
	@mkdir -p var
	$(BIN)/cyclonedx-py requirements requirements.txt --pyproject pyproject.toml \
		--of JSON --output-reproducible -o var/sbom.cdx.json

clean:
	rm -rf $(VENV) var
