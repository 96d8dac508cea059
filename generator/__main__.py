"""`python -m generator` runs the Rugzak command line."""

import sys

from generator.entry import main

sys.exit(main())
