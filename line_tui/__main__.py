"""``python -m line_tui``."""

import sys

from line_tui.cli import main

sys.exit(main())
