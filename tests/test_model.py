import math

import pytest
import torch

from faceedit.core.model import (ArchConfig, BetaVAE, Objective, PIXELS_PER_IMAGE, kl_per_dim, loss_terms,
                            psnr_per_image, recon_per_image)


def test_recon_is_per_image_sum_of_squared_error():
    x = torch.zeros(2, 3, 64, 64)
    x_hat = torch.zeros(2, 3, 64, 64)
    x_hat[0] = 0.5  # every value off by 0.5 → 12288 × 0.25
    x_hat[1, 0, 0, 0] = 1.0  # one value off by 1
    assert recon_per_image(x_hat, x).tolist() == [PIXELS_PER_IMAGE * 0.25, 1.0]


def test_kl_of_standard_normal_posterior_is_zero():
    mu, logvar = torch.zeros(4, 128), torch.zeros(4, 128)
    assert torch.equal(kl_per_dim(mu, logvar), torch.zeros(4, 128))


def test_kl_hand_computed():
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # 0.5·(μ² + σ² − 1 − log σ²): dim0 = 0.5·1 = 0.5; dim1 = 0.5·(4 − 1 − ln 4)
    expected = [0.5, 0.5 * (3 - math.log(4.0))]
    assert kl_per_dim(mu, logvar)[0].tolist() == pytest.approx(expected)


def test_psnr_hand_computed():
    x = torch.zeros(1, 3, 64, 64)
    x_hat = torch.full((1, 3, 64, 64), 0.1)  # MSE 0.01 → 20 dB
    assert psnr_per_image(x_hat, x).item() == pytest.approx(20.0, abs=1e-4)


def test_loss_terms_are_batch_means_of_per_image_terms():
    torch.manual_seed(0)
    model = BetaVAE().eval()
    x = torch.rand(5, 3, 64, 64)
    t = loss_terms(model, x)
    assert t["recon"].item() == pytest.approx(recon_per_image(t["x_hat"], x).mean().item(), rel=1e-6)
    assert t["kl"].item() == pytest.approx(kl_per_dim(t["mu"], t["logvar"]).sum(1).mean().item(), rel=1e-6)


def test_objectives():
    beta = Objective(kind="beta", beta=4.0)
    assert beta(torch.tensor(100.0), torch.tensor(10.0), step=0).item() == 140.0
    warm = Objective(kind="beta", beta=4.0, kl_warmup_steps=100)
    assert warm(torch.tensor(100.0), torch.tensor(10.0), step=50).item() == 120.0
    cap = Objective(kind="capacity", gamma=10.0, c_max=20.0, c_steps=100)
    assert cap.capacity(50) == 10.0 and cap.capacity(1000) == 20.0
    assert cap(torch.tensor(100.0), torch.tensor(4.0), step=50).item() == 100.0 + 10.0 * 6.0
    with pytest.raises(ValueError):
        Objective(kind="vq")


def test_shapes_and_range():
    model = BetaVAE(ArchConfig(channels=(8, 16, 32, 64), refine_channels=8)).eval()
    x_hat, mu, logvar = model(torch.rand(3, 3, 64, 64))
    assert x_hat.shape == (3, 3, 64, 64) and mu.shape == logvar.shape == (3, 128)
    assert 0.0 <= x_hat.min() and x_hat.max() <= 1.0


def test_folding_batchnorm_keeps_the_function_and_removes_the_layers():
    import copy
    from faceedit.core.model import fold_batchnorm
    torch.manual_seed(0)
    model = BetaVAE(ArchConfig(channels=(8, 16, 32), refine_channels=8, encoder_kernel=3))
    for m in model.modules():  # running statistics and affine terms far from the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.2, 3), m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-0.5, 0.5)
    model.eval()
    folded = fold_batchnorm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x, z = torch.rand(3, 3, 64, 64), torch.randn(3, 128)
    with torch.no_grad():
        assert torch.allclose(folded.encoder(x)[0], model.encoder(x)[0], atol=1e-5)
        assert torch.allclose(folded.decoder(z), model.decoder(z), atol=1e-5)
