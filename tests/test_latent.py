import torch

from faceedit.core.latent import apply_attributes, interpolate_path, lerp, sample_prior, slerp, traversal


def test_slerp_endpoints_are_exact_and_norm_is_interpolated():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(128, generator=g), torch.randn(128, generator=g) * 2
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert torch.isclose(mid.norm(), (a.norm() + b.norm()) / 2, rtol=1e-5)
    # the midpoint direction bisects the angle
    assert torch.isclose(torch.cosine_similarity(mid, a, 0), torch.cosine_similarity(mid, b, 0), atol=1e-5)


def test_slerp_parallel_falls_back_to_lerp():
    a = torch.ones(4)
    assert torch.allclose(slerp(a, 2 * a, 0.5), lerp(a, 2 * a, 0.5))


def test_interpolate_path_through_keyframes():
    keys = [torch.zeros(3), torch.ones(3), torch.full((3,), 3.0)]
    assert torch.equal(interpolate_path(keys, 0.0, "lerp"), keys[0])
    assert torch.equal(interpolate_path(keys, 0.5, "lerp"), keys[1])
    assert torch.equal(interpolate_path(keys, 1.0, "lerp"), keys[2])
    assert torch.allclose(interpolate_path(keys, 0.75, "lerp"), torch.full((3,), 2.0))


def test_traversal_and_attribute_edit():
    z = torch.zeros(1, 5)
    t = traversal(z, 2, torch.tensor([-3.0, 0.0, 3.0]))
    assert t[:, 2].tolist() == [-3.0, 0.0, 3.0] and t[:, [0, 1, 3, 4]].abs().sum() == 0
    dirs = torch.eye(5)
    assert apply_attributes(torch.zeros(5), dirs, {1: 2.0, 3: -1.0}).tolist() == [0, 2.0, 0, -1.0, 0]


def test_prior_sampling_is_seeded_and_scaled():
    a = sample_prior(1000, 8, 0.5, torch.Generator().manual_seed(1))
    b = sample_prior(1000, 8, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert 0.45 < a.std().item() < 0.55
