"""``python -m skoptnn.cli``: the same as the ``skoptnn`` command."""

import sys

from . import main

sys.exit(main())
