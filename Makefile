# Two commands on a fresh machine:  `make run` (the chat on the sample articles) and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
# the store `newsrag` uses without --store (a per-user data directory; `newsrag status` prints it), so the
# README's commands find what `make run` ingested; `make run STORE=DIR` for another one
STORE   ?=
STORE_FLAG := $(if $(STORE),--store $(STORE))
PORT    ?= 7860
STAMP   := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser run test ingest screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build of torch lies on disk; install it before anything that depends on torch
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,llm,bench,browser,mcp,llama-index,otel]'
	touch $(STAMP)

install: $(STAMP)

# the browser tests drive Debian's chromium through playwright (never `playwright install`)
browser:
	@test -x $(CHROMIUM) || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

ingest: install
	$(VENV)/bin/newsrag ingest samples/articles $(STORE_FLAG)

run: ingest
	$(VENV)/bin/newsrag ui $(STORE_FLAG) --port $(PORT)

# the whole suite on pytest-xdist workers (TEST_WORKERS=0: in this process); each test module runs on one
# worker (--dist loadfile), and tests/conftest.py hands out modules holding a `slow` test first
TEST_WORKERS ?= 2
test: install browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# refresh docs/screenshots/*.png from the browser tests
screenshots: install browser
	NEWSRAG_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/test_ui_browser.py tests/test_timeline.py

clean:
	rm -rf .pytest_cache $(STORE)
