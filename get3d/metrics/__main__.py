"""``python -m get3d.metrics`` (see :mod:`get3d.metrics.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
