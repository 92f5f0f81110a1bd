"""``python -m faceedit …``: the same as the ``faceedit`` command."""
import sys

from faceedit.cli import main

sys.exit(main())
