"""`python -m generator` runs the Rugzak command line."""

import sys

from generator.cli import main

sys.exit(main())
