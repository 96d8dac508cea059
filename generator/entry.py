"""The `rugzak` console script and `python -m generator`.

Kept free of imports: Ctrl-C while Python still loads Rugzak's libraries (the first few tenths
of a second) is then an interrupt like any later one — exit 130 and a line, no traceback.
"""

import sys


def main() -> int:
    """Load the command line and run it."""
    try:
        from generator.cli import main as run_command_line
    except KeyboardInterrupt:
        print("rugzak: interrupted", file=sys.stderr)
        return 130
    return run_command_line()
