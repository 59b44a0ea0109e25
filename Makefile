# Two commands on a fresh machine:  `make run` (the chat on the sample articles) and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STORE   ?= .newsrag
PORT    ?= 7860
STAMP   := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser run test ingest screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build of torch lies on disk; install it before anything that depends on torch
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,llm,bench,browser]'
	touch $(STAMP)

install: $(STAMP)

# the browser tests drive Debian's chromium through playwright (never `playwright install`)
browser:
	@test -x $(CHROMIUM) || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

ingest: install
	$(VENV)/bin/newsrag ingest samples/articles --store $(STORE)

run: ingest
	$(VENV)/bin/newsrag ui --store $(STORE) --port $(PORT)

test: install browser
	$(PY) -m pytest

# refresh docs/screenshots/*.png from the browser tests
screenshots: install browser
	NEWSRAG_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/test_ui_browser.py tests/test_timeline.py

clean:
	rm -rf $(STORE) .pytest_cache
