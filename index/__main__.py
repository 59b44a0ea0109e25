"""`python -m index`: ingest, rebuild, list and remove articles, parsed and run as `newsrag` runs them."""

import sys

from rag.cli import run

from .cli import register

sys.exit(run([register], prog="python -m index",
             description="Add news articles to the store (files, folders, globs, web pages, feeds), list "
                         "and remove them."))
