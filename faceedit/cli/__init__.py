"""``faceedit``: with no arguments, the editor; with a subcommand, headless work (no window)."""
from __future__ import annotations

import sys

EDITOR_OPTIONS = ("--model", "--device")  # `faceedit --model X` / `--device=cpu` open the editor


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].partition("=")[0] in EDITOR_OPTIONS:
        from faceedit.gui.app import main as run_editor
        return run_editor(argv)
    from faceedit.cli.commands import main as run_command
    return run_command(argv)

