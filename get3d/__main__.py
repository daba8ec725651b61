"""``python -m get3d``: see :mod:`get3d.cli`."""

import sys

from get3d.cli import main

sys.exit(main())
