"""``faceedit``: with no arguments, the editor; with a subcommand, headless work (no window)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("--model", "--device") or argv[0].startswith("--model="):
        from faceedit.gui.app import main as run_editor
        return run_editor(argv)
    from faceedit.cli.commands import main as run_command
    return run_command(argv)


if __name__ == "__main__":
    sys.exit(main())
