# Two commands on a fresh machine:  `make run` (the chat on the sample articles) and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STORE   ?= .newsrag
PORT    ?= 7860
STAMP   := $(VENV)/.installed

.PHONY: install run test ingest clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build of torch lies on disk; install it before anything that depends on torch
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,llm,bench]'
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(VENV)/bin/newsrag ingest samples/articles --store $(STORE)

run: ingest
	$(VENV)/bin/newsrag ui --store $(STORE) --port $(PORT)

test: install
	$(PY) -m pytest

clean:
	rm -rf $(STORE) .pytest_cache
