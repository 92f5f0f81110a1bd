"""Edits judged by measurement (training.edits) on a synthetic model whose true direction is known,
and the model file's direction scales."""
from types import SimpleNamespace

import pytest
import torch

from faceedit import load_model
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import ModelFileError, load_network, save_model_file
from training.edits import (BISECTIONS, MAX_SCALE, TARGET_FLIP, EditJudge, calibrate, calibrate_scale, conditional_normals,
                            decorrelated_normals, edit_outcome, edit_precision, logistic_normals, optimised_direction)

NAMES = ["Smiling", "Eyeglasses"]


class PatchModel:
    """A 'model' whose faces show attribute k as the brightness of patch k: brightness = sigmoid(4·z_k)."""

    latent_dim = 3
    attributes = {}
    device = "cpu"

    def __init__(self):
        self.network = SimpleNamespace(decoder=self.decode)

    def decode(self, z):
        z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, 3)
        patches = [torch.sigmoid(4 * z[:, k])[:, None, None, None].expand(-1, 3, 64, 32) for k in range(2)]
        return torch.cat(patches, 3)

    def encode(self, images):
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        p = torch.stack([x[:, 0, :, :32].mean((1, 2)), x[:, 0, :, 32:].mean((1, 2))], 1).clamp(1e-4, 1 - 1e-4)
        mu = torch.cat([torch.log(p / (1 - p)) / 4, torch.zeros(len(x), 1)], 1)
        return mu, torch.zeros_like(mu)


class PatchJudge:
    """Reads each patch's brightness as the probability of its attribute."""

    attribute_names = NAMES

    def probabilities(self, images):
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        return torch.stack([x[:, 0, :, :32].mean((1, 2)), x[:, 0, :, 32:].mean((1, 2))], 1)

    def logits(self, images):
        return torch.logit(self.probabilities(images).clamp(1e-4, 1 - 1e-4))

    def index(self, name):
        return NAMES.index(name)


def _edit_judge(z, labels):
    ej = EditJudge.fit(PatchJudge(), PatchModel(), z, labels, NAMES)
    return ej


def _codes(z0, z1=None):
    z0 = torch.as_tensor(z0, dtype=torch.float32)
    z1 = torch.zeros_like(z0) if z1 is None else torch.as_tensor(z1, dtype=torch.float32)
    return torch.stack([z0, z1, torch.zeros_like(z0)], 1)


def test_thresholds_are_set_on_the_models_reconstructions():
    z = _codes([-1.0, -0.5, 0.5, 1.0], [1, -1, 1, -1])
    labels = torch.tensor([[-1, 1], [-1, -1], [1, 1], [1, -1]])
    ej = _edit_judge(z, labels)
    # Smiling separates perfectly between brightness sigmoid(-2) and sigmoid(2): the threshold lies between
    assert torch.sigmoid(torch.tensor(-2.0)) < ej.thresholds[0] <= torch.sigmoid(torch.tensor(2.0)) + 1 / 255
    assert ej.recon_auc["Smiling"] == 1.0 and ej.renderable("Smiling")


def test_flip_rate_target_change_and_spill_arithmetic():
    ej = _edit_judge(_codes([-1.0, 1.0]), torch.tensor([[-1, -1], [1, 1]]))
    ej.thresholds = torch.tensor([0.5, 0.5])  # z_0 ≥ 0 reads as smiling
    z = _codes([-0.2, -0.2, -2.0, -2.0])
    step = torch.tensor([1.0, 0.0, 0.0])
    out = edit_outcome(PatchModel(), ej, z, 0, step, +1)
    assert out["flip"] == 0.5  # the two faces at −0.2 cross 0, the two at −2 do not
    expected = (torch.sigmoid(torch.tensor([3.2, 3.2, -4.0, -4.0])) - torch.sigmoid(torch.tensor([-0.8, -0.8, -8.0, -8.0])))
    assert out["target"] == pytest.approx(expected.mean().item(), abs=3e-3)  # uint8 rounding
    assert out["spill"] == 0.0 and out["max_spill_to"] == "Eyeglasses"
    # a step that also moves the other attribute spills exactly that much
    leaky = edit_outcome(PatchModel(), ej, z, 0, torch.tensor([1.0, 1.0, 0.0]), +1)
    as_uint8 = lambda v: round(255 * v) / 255  # noqa: E731 - the judge sees 8-bit faces
    assert leaky["spill"] == pytest.approx(as_uint8(float(torch.sigmoid(torch.tensor(4.0)))) - as_uint8(0.5), abs=1e-5)
    # −1 asks for the other side
    removed = edit_outcome(PatchModel(), ej, _codes([0.5, 0.5, 3.0]), 0, step, -1)
    assert removed["flip"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("eyeglasses, expected", [([1, 1, -1, -1], 0.96), ([1, -1, 1, -1], 0.0)])
def test_real_faces_spill_is_how_far_faces_with_and_without_lie_apart(eyeglasses, expected):
    model = PatchModel()
    model.attributes = {"Smiling": torch.tensor([1.0, 0.0, 0.0]), "Eyeglasses": torch.tensor([0.0, 1.0, 0.0])}
    z = _codes([1.0, 1.0, -1.0, -1.0], eyeglasses)
    images = (model.decode(z) * 255).round().to(torch.uint8)
    labels = torch.stack([torch.tensor([1, 1, -1, -1]), torch.tensor(eyeglasses)], 1)
    out = edit_precision(model, PatchJudge(), images, labels, NAMES)
    # Smiling's faces differ from the others in Eyeglasses by sigmoid(4) − sigmoid(−4), or not at all
    assert out["Smiling"]["real_spill"] == pytest.approx(expected, abs=0.01)
    assert out["Smiling"]["spill"] == pytest.approx(0.0, abs=0.01)  # the edit itself moves patch 0 alone


def test_scale_calibration_finds_the_smallest_step_that_flips_the_target_share():
    ej = _edit_judge(_codes([-1.0, 1.0]), torch.tensor([[-1, -1], [1, 1]]))
    ej.thresholds = torch.tensor([0.5, 0.5])
    z = _codes(-torch.linspace(0.02, 2.0, 100))  # faces without: z_0 spread over (−2, 0)
    scale, outcome = calibrate_scale(PatchModel(), ej, z, 0, torch.tensor([1.0, 0.0, 0.0]), spread=1.0)
    smallest = 2 * TARGET_FLIP  # the faces sit evenly over (−2, 0): a step s flips the share s/2
    assert smallest - 0.03 <= scale <= smallest + MAX_SCALE / 2**BISECTIONS  # the bisection keeps the upper end
    assert outcome["flip"] >= TARGET_FLIP


def test_calibrate_recovers_the_true_direction_and_unit():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 3, generator=g)
    attrs = torch.where(z[:, :2] > 0, 1, -1)
    images = (PatchModel().decode(z) * 255).round().to(torch.uint8)
    result = calibrate(PatchModel(), PatchJudge(), z, attrs, images, attrs, NAMES, progress=lambda m: None)
    for k in range(2):  # each direction points along its own axis
        assert result.directions[k, k] > 0.95
    # +1 is enough to flip 80% of faces without the attribute, and no more than a few σ
    assert all(result.quality[n]["flip"] >= TARGET_FLIP for n in NAMES)
    assert (result.scales > 0.5).all() and (result.scales < 4).all()
    assert set(result.comparison) == {"ridge", "logistic", "conditional", "decorrelated", "optimised"}
    # with fewer validation faces than one calibration's worth, no optimised candidate is spent on
    few = calibrate(PatchModel(), PatchJudge(), z, attrs, images[:60], attrs[:60], NAMES, progress=lambda m: None)
    assert set(few.comparison) == {"ridge", "logistic", "conditional", "decorrelated"}
    for k, name in enumerate(NAMES):  # each attribute's own method, and its direction is that method's
        assert result.quality[name]["method"] in result.comparison


def test_decorrelated_directions_cancel_the_measured_spill():
    normals = torch.eye(3)
    spreads = torch.tensor([1.0, 2.0, 1.0])
    # a step along normal 0 raises attribute 0 by 0.4 but also attribute 1 by 0.2 (spill); normal 1
    # moves attribute 1 alone; attribute 2 is not judged
    jacobian = torch.tensor([[0.4, 0.2], [0.0, 0.3], [0.0, 0.0]])
    out = decorrelated_normals(normals, spreads, jacobian, [0, 1, None], ridge=1e-6)
    # predicted effect of a step along the new direction 0 (in units of each normal's spread)
    mix = out[0] / spreads
    effect = mix @ jacobian
    assert abs(float(effect[1])) < 1e-3 * abs(float(effect[0]))  # no spill left, to first order
    assert float(out[0] @ normals[1]) < 0  # by moving against normal 1
    assert torch.allclose(out[1], normals[1], atol=1e-3) and torch.equal(out[2], normals[2])
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)
    # a strong ridge keeps each direction at its own normal
    assert torch.allclose(decorrelated_normals(normals, spreads, jacobian, [0, 1, None], ridge=1e6), normals,
                          atol=1e-3)


def test_optimised_direction_turns_away_from_spill_and_keeps_its_flip():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 3, generator=g)
    ej = _edit_judge(z, torch.where(z[:, :2] > 0, 1, -1))
    leaky = torch.nn.functional.normalize(torch.tensor([1.0, 0.8, 0.3]), dim=0)  # also brightens patch 1
    without, having = z[z[:, 0] <= 0], z[z[:, 0] > 0]
    turned = optimised_direction(PatchModel(), ej, 0, leaky, 2.5, without, having)
    assert abs(float(turned.norm()) - 1) < 1e-5
    assert abs(float(turned[1])) < 0.25 * float(leaky[1])  # most of the leak into Eyeglasses is gone
    before, after = (edit_outcome(PatchModel(), ej, without, 0, 2.5 * u, +1) for u in (leaky, turned))
    assert after["spill"] < 0.5 * before["spill"]
    assert after["flip"] >= before["flip"] - 0.05  # and Smiling still flips as often


def test_conditional_normals_are_orthogonal_to_the_conditioned_normals():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(2000, 4, generator=g)
    attrs = torch.stack([mu[:, 0] + 0.5 * mu[:, 1] > 0, mu[:, 1] > 0, mu[:, 2] > 0], 1).int() * 2 - 1
    normals = logistic_normals(mu, attrs)
    cond = conditional_normals(normals, attrs, k_others=1)
    # attribute 0 is most correlated with attribute 1: its conditional normal has no component along normal 1
    assert abs(float(cond[0] @ normals[1])) < 1e-5
    assert torch.allclose(cond.norm(dim=1), torch.ones(3), atol=1e-5)


def _model_file(tmp_path, scales, name="m.pt", calibration=None):
    torch.manual_seed(0)
    net = BetaVAE(ArchConfig(latent_dim=8, channels=(8, 16), refine_channels=0))
    meta = {"attribute_names": ["Smiling", "Young"], "attribute_directions": torch.eye(8)[:2]}
    if scales is not None:
        meta["attribute_scales"] = scales
    if calibration is not None:
        meta["calibration"] = calibration
    path = tmp_path / name
    save_model_file(path, net, Objective(beta=4.0), meta)
    return path


def test_scaled_directions_are_what_plus_one_means(tmp_path):
    model = load_model(_model_file(tmp_path, torch.tensor([2.5, 0.5])), device="cpu")
    assert model.attributes_scaled
    assert torch.equal(model.attributes["Smiling"], 2.5 * torch.eye(8)[0])
    assert torch.equal(model.attributes["Young"], 0.5 * torch.eye(8)[1])


@pytest.mark.parametrize("recorded,expected", [(0.9, 0.9), (None, None), ("90%", None), (7.0, None)])
def test_the_file_says_what_plus_one_was_calibrated_to_flip(tmp_path, recorded, expected):
    calibration = {"directions": {"chosen": "logistic"} | ({} if recorded is None else {"target_flip": recorded})}
    path = _model_file(tmp_path, torch.tensor([1.0, 1.0]), calibration=calibration)
    assert load_model(path, device="cpu").attribute_unit_flip == expected


def test_old_files_fall_back_to_unscaled_directions(tmp_path):
    model = load_model(_model_file(tmp_path, None), device="cpu")
    assert not model.attributes_scaled
    assert torch.equal(model.attributes["Young"], torch.eye(8)[1])


@pytest.mark.parametrize("scales", [torch.tensor([1.0, 0.0]), torch.tensor([1.0, -2.0]),
                                    torch.tensor([1.0, float("nan")]), torch.tensor([1.0, float("inf")]),
                                    torch.tensor([1.0]), "big"])
def test_broken_scales_are_refused_with_one_line(tmp_path, scales):
    path = _model_file(tmp_path, scales)
    with pytest.raises(ModelFileError, match="attribute_scales") as e:
        load_network(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_attribute_problems_are_said_in_plain_words(tmp_path):
    path = _model_file(tmp_path, torch.tensor([1.0, 1.0]))
    from faceedit.core.modelfile import update_metadata
    update_metadata(path, {"attribute_quality": {"Smiling": {"renderable": True, "flip": 0.9},
                                                 "Young": {"renderable": False, "recon_auc": 0.61, "flip": 0.3}}})
    model = load_model(path, device="cpu")
    assert model.attribute_problem("Smiling") is None
    assert model.attribute_problem("Young") == ("β=4 does not keep young: the judge tells faces with and without it "
                                                "apart in this model's reconstructions only at AUC 0.61")


def test_dimension_attributes_name_the_most_correlated_attribute():
    from training.calibrate import dimension_attributes
    g = torch.Generator().manual_seed(0)
    attrs = torch.where(torch.rand(500, 2, generator=g) > 0.5, 1, -1)
    mu = torch.stack([attrs[:, 1].float() + 0.1 * torch.randn(500, generator=g),  # dim 0 follows Young
                      -attrs[:, 0].float() + 0.1 * torch.randn(500, generator=g),  # dim 1 follows not-Smiling
                      torch.randn(500, generator=g)], 1)
    pairs = dimension_attributes(mu, attrs, ["Smiling", "Young"])
    assert pairs[0][0] == "Young" and pairs[0][1] > 0.9
    assert pairs[1][0] == "Smiling" and pairs[1][1] < -0.9
    assert abs(pairs[2][1]) < 0.2


def test_dimension_attributes_are_validated(tmp_path):
    from faceedit.core.modelfile import update_metadata
    path = _model_file(tmp_path, torch.tensor([1.0, 1.0]))
    update_metadata(path, {"dimension_attributes": [["Smiling", 0.5]] * 8})
    assert load_model(path, device="cpu").dimension_attribute(3) == ("Smiling", 0.5)
    update_metadata(path, {"dimension_attributes": [["Smiling", float("nan")]] * 8})
    with pytest.raises(ModelFileError, match="dimension_attributes"):
        load_network(path)
