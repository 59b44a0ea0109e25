"""`python -m eval QUESTIONS ...` and `python -m eval compare RUN_A RUN_B`: the same command as `newsrag eval`."""

import sys

from rag.cli import run

from .cli import register

sys.exit(run([register], prog="python -m eval", command="eval"))
