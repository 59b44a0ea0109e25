"""`python -m rag`: the core commands (ask, status, config)."""

import sys

from .cli import main

sys.exit(main())
