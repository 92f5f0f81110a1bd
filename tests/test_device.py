import pytest
import torch

from faceedit.core.device import choose_device, describe

yes, no = (lambda: True), (lambda: False)


@pytest.mark.parametrize("mps,cuda,expected", [(yes, yes, "mps"), (no, yes, "cuda"), (no, no, "cpu")])
def test_auto_prefers_mps_then_cuda_then_cpu(mps, cuda, expected, monkeypatch):
    monkeypatch.delenv("FACEEDIT_DEVICE", raising=False)
    assert choose_device(None, mps_available=mps, cuda_available=cuda).type == expected
    assert choose_device("auto", mps_available=mps, cuda_available=cuda).type == expected


def test_user_override_and_environment(monkeypatch):
    assert choose_device("cpu", mps_available=yes, cuda_available=yes).type == "cpu"
    assert choose_device("cuda:1", mps_available=no, cuda_available=yes) == torch.device("cuda:1")
    monkeypatch.setenv("FACEEDIT_DEVICE", "cpu")
    assert choose_device(None, mps_available=yes, cuda_available=yes).type == "cpu"


def test_unavailable_or_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="not available.*available: cpu"):
        choose_device("cuda", mps_available=no, cuda_available=no)
    with pytest.raises(ValueError, match="unknown device"):
        choose_device("tpu")


def test_describe_cpu():
    assert describe(torch.device("cpu")) == "CPU"
