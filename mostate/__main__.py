"""``python -m mostate``: the same as the ``mostate`` command."""

import sys

from .cli import main

sys.exit(main())
