"""`python -m eval QUESTIONS ...` and `python -m eval compare RUN_A RUN_B`."""

import sys

from .cli import main

sys.exit(main())
