"""`python -m index`: ingest, list and remove articles."""

import sys

from .cli import main

sys.exit(main())
