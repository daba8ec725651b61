"""``python -m get3d.data``: see :mod:`get3d.data.cli`."""

import sys

from .cli import main

sys.exit(main())
