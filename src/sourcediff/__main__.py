"""`python -m sourcediff ...`: the same as the `sourcediff` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
