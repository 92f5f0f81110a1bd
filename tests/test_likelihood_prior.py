"""The calibrated likelihood (nats, against a hand computation), the fitted prior, and how model files keep them."""
import math

import pytest
import torch

from faceedit import load_model
from faceedit.core.likelihood import (GaussianLikelihood, SSELikelihood, gaussian_nll, make_likelihood,
                                      sse_per_image)
from faceedit.core.model import ArchConfig, BetaVAE, Objective, loss_terms
from faceedit.core.modelfile import ModelFileError, load_network, save_model_file
from faceedit.core.prior import Prior, PriorError, fit_gaussian

SMALL = ArchConfig(latent_dim=8, channels=(8, 16), refine_channels=0)


def test_gaussian_nll_matches_a_hand_computation():
    x = torch.zeros(1, 3, 64, 64)
    x_hat = torch.full((1, 3, 64, 64), 0.1)  # SSE = 12288 · 0.01 = 122.88
    sigma = 0.2
    d = 12288
    by_hand = 122.88 / (2 * 0.04) + d * math.log(0.2) + d / 2 * math.log(2 * math.pi)
    lik = GaussianLikelihood(sigma=sigma)
    assert lik.nll(x_hat, x).item() == pytest.approx(by_hand, rel=1e-5)
    # and it is the sum of the per-value Gaussian log densities
    per_value = -torch.distributions.Normal(x_hat, sigma).log_prob(x).sum()
    assert lik.nll(x_hat, x).item() == pytest.approx(per_value.item(), rel=1e-5)


def test_training_uses_the_batch_optimum_and_learns_a_running_sigma():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64)
    x_hat = x + 0.05 * torch.randn_like(x)
    lik = GaussianLikelihood()
    nll = lik.nll(x_hat, x, update=True)
    optimum = math.sqrt(sse_per_image(x_hat, x).mean().item() / 12288)
    assert lik.sigma == pytest.approx(optimum, rel=1e-5)
    # at the optimum the NLL is D/2·log(2πσ²) + D/2 on average
    assert nll.mean().item() == pytest.approx(6144 * math.log(2 * math.pi * optimum**2) + 6144, rel=1e-5)
    # σ is held fixed for the gradient: the gradient is the SSE's, divided by 2σ²
    x_hat.requires_grad_(True)
    lik.nll(x_hat, x, update=True).sum().backward()
    expected = 2 * (x_hat.detach() - x) / (2 * lik.sigma**2)
    assert torch.allclose(x_hat.grad, expected, rtol=1e-3, atol=1e-5)


def test_sse_likelihood_is_the_first_releases_objective():
    x, x_hat = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert torch.equal(SSELikelihood().nll(x_hat, x), sse_per_image(x_hat, x))
    # and it is the Gaussian NLL with σ² = 0.5, less a constant
    const = 12288 * math.log(math.sqrt(0.5)) + 6144 * math.log(2 * math.pi)
    assert torch.allclose(gaussian_nll(sse_per_image(x_hat, x), math.sqrt(0.5)) - const, sse_per_image(x_hat, x),
                          rtol=1e-4)


@pytest.mark.parametrize("spec, problem", [({"name": "laplace"}, "unknown likelihood"),
                                           ({"name": "gaussian", "sigma": -1.0}, "positive"),
                                           ({"name": "gaussian", "sigma": float("nan")}, "positive")])
def test_bad_likelihoods_are_refused(spec, problem):
    with pytest.raises(ValueError, match=problem):
        make_likelihood(spec)


def test_loss_terms_report_nll_and_sse():
    model = BetaVAE(SMALL).train()
    x = torch.rand(4, 3, 64, 64)
    t = loss_terms(model, x, GaussianLikelihood(sigma=0.1))
    assert t["sse"].item() == pytest.approx(sse_per_image(t["x_hat"], x).mean().item(), rel=1e-5)
    assert t["recon"].item() == pytest.approx(gaussian_nll(sse_per_image(t["x_hat"], x), 0.1).mean().item(), rel=1e-5)


def _covariance(n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(8, 8, generator=g) * 0.5
    mu = torch.randn(n, 8, generator=g) @ a.T + torch.arange(8.0)
    return mu, a @ a.T


def test_fitted_prior_recovers_the_codes_mean_and_covariance():
    mu, cov = _covariance()
    prior = fit_gaussian(mu)
    z = prior.sample(20000, 1.0, torch.Generator().manual_seed(1))
    assert torch.allclose(z.mean(0), torch.arange(8.0), atol=0.05)
    assert torch.allclose(torch.cov(z.T), torch.cov(mu.T), atol=0.2)  # sampling error of 20,000 draws: ~0.06
    # temperature scales the spread around the mean; 0 gives the mean face
    assert torch.allclose(prior.sample(3, 0.0), prior.mean.expand(3, -1))
    cold = prior.sample(20000, 0.5, torch.Generator().manual_seed(1))
    assert torch.allclose(cold.std(0), z.std(0) * 0.5, rtol=0.05)


def test_posterior_prior_adds_the_mean_posterior_variance():
    mu, cov = _covariance()
    logvar = torch.full_like(mu, math.log(0.25))
    prior = fit_gaussian(mu, logvar)
    fitted = prior.scale_tril @ prior.scale_tril.T
    assert torch.allclose(fitted, torch.cov(mu.T) + 0.25 * torch.eye(8), atol=1e-3)


def _write(tmp_path, name="m.pt", *, likelihood=None, prior="fit"):
    torch.manual_seed(0)
    model = BetaVAE(SMALL)
    meta = {"name": "small"}
    if prior == "fit":
        meta["prior"] = fit_gaussian(torch.randn(200, 8) * 2 + 1).to_dict()
    elif prior is not None:
        meta["prior"] = prior
    path = tmp_path / name
    save_model_file(path, model, Objective(beta=1.0), meta, likelihood=likelihood)
    return path


def test_model_file_keeps_sigma_and_prior(tmp_path):
    path = _write(tmp_path, likelihood={"name": "gaussian", "sigma": 0.07})
    model = load_model(path, device="cpu")
    assert model.likelihood == {"name": "gaussian", "sigma": 0.07}
    assert model.prior.scale_tril is not None
    z = model.prior.sample(5000, 1.0, torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), torch.ones(8), atol=0.15)  # samples follow the fitted prior, not N(0, I)


def test_old_files_load_as_sse_and_sample_from_the_standard_normal(tmp_path):
    path = _write(tmp_path, prior=None)
    payload = torch.load(path, weights_only=True)
    del payload["likelihood"]
    torch.save(payload, path)
    model = load_model(path, device="cpu")
    assert model.likelihood == {"name": "sse"}
    assert model.prior.scale_tril is None
    z = model.prior.sample(5000, 1.0, torch.Generator().manual_seed(0))
    assert abs(z.mean().item()) < 0.05 and abs(z.std().item() - 1) < 0.05


def _bad_prior(kind):
    prior = fit_gaussian(torch.randn(200, 8)).to_dict()
    if kind == "nan":
        prior["mean"][0] = float("nan")
    elif kind == "not positive-definite":
        prior["scale_tril"][3, 3] = -0.5
    elif kind == "not triangular":
        prior["scale_tril"][0, 5] = 1.0
    elif kind == "shape":
        prior["mean"] = torch.zeros(7)
    elif kind == "missing":
        del prior["scale_tril"]
    return prior


@pytest.mark.parametrize("kind, message", [("nan", "NaN"), ("not positive-definite", "positive-definite"),
                                           ("not triangular", "positive-definite"), ("shape", "shapes"),
                                           ("missing", "no numeric mean")])
def test_broken_priors_are_refused_with_one_line(tmp_path, kind, message):
    path = _write(tmp_path, prior=_bad_prior(kind))
    with pytest.raises(ModelFileError, match=message) as e:
        load_network(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("likelihood, message", [({"name": "gaussian"}, "no σ"),
                                                 ({"name": "gaussian", "sigma": 0.0}, "positive"),
                                                 ({"name": "gaussian", "sigma": float("inf")}, "positive"),
                                                 ({"name": "cauchy", "sigma": 1.0}, "unknown likelihood"),
                                                 ("gaussian", "not a table")])
def test_broken_likelihoods_are_refused_with_one_line(tmp_path, likelihood, message):
    path = _write(tmp_path, likelihood=likelihood)
    with pytest.raises(ModelFileError, match=message) as e:
        load_network(path)
    assert str(path) in str(e.value)


def test_prior_error_is_a_value_error():
    with pytest.raises(PriorError):
        Prior.from_dict({"kind": "gmm"}, 8)


def test_an_unknown_likelihood_on_the_command_line_lists_the_valid_names(capsys, tmp_path):
    from training import cli
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m.pt"), "--likelihood", "laplace"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "laplace" in err and "gaussian" in err and "sse" in err
