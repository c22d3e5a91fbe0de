"""`python -m chainrule tour`: the same as the `chainrule` console script."""
import sys

from .cli import main

sys.exit(main())
