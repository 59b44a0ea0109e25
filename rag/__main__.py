"""`python -m rag`: the core commands (ask, timeline, status, config), parsed and run as `newsrag` runs them."""

import sys

from .cli import run
from .commands import register

sys.exit(run([register], prog="python -m rag",
             description="Ask questions about the stored news articles (answers cite their passages), "
                         "the store's status and the effective settings."))
