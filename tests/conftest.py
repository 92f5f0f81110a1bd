import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Every test runs on the CPU, whatever the machine has: without this, a Mac's `auto` picks MPS and the
# tests that compare outputs bit for bit with a CPU model fail.  tests/test_mps.py and tests/test_cuda.py
# ask for their device themselves.
os.environ["FACEEDIT_DEVICE"] = "cpu"

# The training and evaluation tests run under the float64 guard (tests/float64_guard.py).
GUARDED_MODULES = {"test_training", "test_evaluate", "test_float64_guard"}


@pytest.fixture(autouse=True)
def _no_float64_on_device(request):
    if request.module.__name__ not in GUARDED_MODULES:
        yield
        return
    from float64_guard import NoFloat64OnDevice

    with NoFloat64OnDevice():
        yield
