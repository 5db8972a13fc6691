"""`python -m livedeck`."""

import sys

from livedeck.cli import main

sys.exit(main())
