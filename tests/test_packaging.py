"""A plain, non-editable install carries the bundled models and both entry points."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_carries_bundled_models(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("faceedit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in ("beta1", "beta4", "beta10"):
        assert f"faceedit/_resources/models/{model}.pt" in names
    assert "training/cli.py" in names and "faceedit/gui/widgets/__init__.py" in names
    assert "faceedit/_resources/icon.png" in names  # the window and Dock icon (faceedit/gui/appearance.py)
    # the attribute judge (faceedit-train evaluate and calibrate) and the report's targets, as data
    assert "faceedit/_resources/judge/attributes.pt" in names and "training/targets.json" in names
    assert {"faceedit/core/__init__.py", "faceedit/formats/project.py", "faceedit/cli/commands.py"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "faceedit-train = training.cli:main" in text and "faceedit = faceedit.cli:main" in text
    assert "[gui_scripts]\nfaceedit-gui = faceedit.gui.app:main" in text

# The import rules (faceedit never imports training; core and formats stay free of Qt; …) are
# import-linter contracts in pyproject.toml, checked by .ci/run.
