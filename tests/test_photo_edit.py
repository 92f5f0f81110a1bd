"""Full-photo edits: face detection and alignment, residual compositing, and `faceedit edit` on
awkward photos (grey, CMYK, 16-bit, alpha, EXIF, no face, tiny face, face at the edge)."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from faceedit.cli.commands import main
from faceedit.core import faces as F
from faceedit.core.composite import Composite, soft_mask
from faceedit.core.facemodel import load_model
from faceedit.core.faces import detect_faces, extract, face_from_box, face_from_crop
from faceedit.core.images import open_full_photo
from faceedit.core.model import ArchConfig, BetaVAE, Objective
from faceedit.core.modelfile import save_model_file
from faceedit.core.photoedit import PhotoEdit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    net = BetaVAE(ArchConfig(latent_dim=128, channels=(8, 16, 16, 16), refine_channels=8))
    net.eval()
    meta = {"name": "tiny", "attribute_names": ["Smiling"], "attribute_directions": torch.randn(1, 128) * 100,  # an untrained decoder barely moves
            "gallery": torch.randn(2, 128), "metrics": {}}
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_model_file(path, net, Objective(beta=2.0), meta)
    return path


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Residual arithmetic

@pytest.mark.parametrize("angle", [0.0, 17.0])
def test_zero_residual_is_the_identity(angle):
    photo = noise(300, 400)
    c = Composite(photo, face_from_box(120, 60, 100, 100, angle))
    assert np.array_equal(c.apply(np.zeros((64, 64, 3), np.float32)), photo)
    # after a real edit, going back to zero restores every pixel
    c.apply(np.full((64, 64, 3), 50, np.float32))
    assert np.array_equal(c.apply(np.zeros((64, 64, 3), np.float32)), photo)


def test_zero_edit_of_a_photo_is_bit_exact(tiny):
    model = load_model(tiny, "cpu")
    photo = noise(240, 320, seed=3)
    session = PhotoEdit(model, photo, face_from_box(100, 50, 90, 90, 8.0))
    assert np.array_equal(session.render(session.z), photo)
    moved = session.render(session.z + model.attributes["Smiling"]).copy()
    assert not np.array_equal(moved, photo)


def test_only_the_face_region_changes_and_the_mask_blends():
    photo = np.full((400, 500, 3), 100, np.uint8)
    face = face_from_box(200, 100, 120, 120, angle=12.0)
    c = Composite(photo, face)
    out = c.apply(np.full((64, 64, 3), 40, np.float32) * soft_mask()[..., None]).astype(int) - 100
    x0, y0, x1, y1 = c.region
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert not out[outside].any()
    # full strength at the centre, nothing at the crop's corners, a smooth ramp between
    cx, cy = round(face.cx), round(face.cy)
    assert (out[cy, cx] == 40).all()
    for corner in face.corners():
        x, y = np.clip(np.round(corner).astype(int), 0, [499, 399])
        assert not out[y, x].any()
    a = math.radians(face.angle)
    ramp = [out[round(cy + t * math.sin(a)), round(cx + t * math.cos(a)), 0] for t in range(0, round(face.side / 2))]
    assert all(p >= q for p, q in zip(ramp, ramp[1:]))  # along the face's own x axis: never rising
    assert any(0 < v < 40 for v in ramp)                # and partly blended on the way out


@pytest.mark.parametrize("box", [(90, 80, 110), (300, 250, 700)])  # the large one goes through the coarse grid
def test_rotation_puts_the_residual_where_the_face_is(box):
    """A residual on one face pixel lands at face.to_face(that pixel) in the photo."""
    photo = np.zeros((1300, 1300, 3), np.uint8)
    face = face_from_box(box[0], box[1], box[2], box[2], angle=25.0)
    c = Composite(photo, face, mask=np.ones((64, 64), np.float32))
    residual = np.zeros((64, 64, 3), np.float32)
    residual[20:24, 40:44] = 200  # a block right of centre, above it
    out = c.apply(residual)[..., 0].astype(float)
    ys, xs = np.nonzero(out)
    centre = np.array([np.average(xs, weights=out[ys, xs]), np.average(ys, weights=out[ys, xs])])
    expected = face.to_face(64) @ np.array([41.5, 21.5, 1.0])
    assert np.linalg.norm(centre - expected) < 1.5 * max(1, face.side / 128)


def test_a_face_at_the_edge_is_padded():
    photo = noise(200, 300)
    face = face_from_box(-40, -30, 90, 90, angle=-10.0)  # the crop reaches past the top-left corner
    crop = extract(photo, face)
    assert crop.shape == (64, 64, 3)
    c = Composite(photo, face)
    assert c.region[:2] == (0, 0)
    out = c.apply(np.full((64, 64, 3), 30, np.float32) * soft_mask()[..., None])
    assert out.shape == photo.shape and not np.array_equal(out, photo)
    far = face_from_box(1000, 1000, 50, 50)  # wholly outside: an edge-pixel crop, no change
    assert extract(photo, far).shape == (64, 64, 3)
    assert np.array_equal(Composite(photo, far).apply(np.full((64, 64, 3), 30, np.float32)), photo)


def test_extract_matches_a_plain_crop_when_unrotated():
    photo = noise(256, 256)
    face = face_from_crop(64, 32, 128)
    crop = extract(photo, face).astype(int)
    expected = photo[32:160, 64:192].reshape(64, 2, 64, 2, 3).mean((1, 3))
    assert np.abs(crop - expected).max() <= 1


# --------------------------------------------------------------------------------------------
# Detection and alignment

def test_alignment_geometry_from_a_detector_box(monkeypatch):
    monkeypatch.setattr(F, "_detect_at", lambda grey, side, upscale=1.0: [(10, 10, 30, 30), (100, 50, 76, 76), (5, 5, 12, 12)])
    monkeypatch.setattr(F, "eye_angle", lambda grey, box: 0.0)
    found = detect_faces(np.zeros((300, 300, 3), np.uint8))
    assert [f.box[2] for f in found] == [76, 30, 12]  # largest first, the tiny one included
    assert [f.too_small for f in found] == [False, False, True]
    big = found[0]
    assert big.side == pytest.approx(76 * 128 / 75.9)  # the training crop is 1.69 face boxes wide
    assert big.cx == pytest.approx(100 + 75 / 2, abs=1) and big.cy == pytest.approx(50 + 75 / 2, abs=1)


def test_no_face_in_noise_or_a_flat_image():
    assert detect_faces(noise(240, 320)) == []
    assert detect_faces(np.full((50, 60, 3), 128, np.uint8)) == []


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data")  # a public-domain NASA portrait shipped with scikit-image
    return data.astronaut()


ASTRONAUT_BOX = (176, 66, 96, 96)  # her face, measured once


def iou(a, b) -> float:
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def scene_with(face_image: np.ndarray, size, at, scale, angle=0.0) -> tuple[np.ndarray, tuple]:
    """The portrait scaled, rotated about its face and pasted into a grey scene; and the face box."""
    import cv2
    x, y, w, h = ASTRONAUT_BOX
    centre = (x + w / 2, y + h / 2)
    m = cv2.getRotationMatrix2D(centre, angle, scale)
    m[:, 2] += np.array(at) - centre
    scene = cv2.warpAffine(face_image, m, size, borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 110, 120))
    return scene, (at[0] - w * scale / 2, at[1] - h * scale / 2, w * scale, h * scale)


@pytest.mark.parametrize("size,at,scale", [((640, 480), (500, 120), 0.8), ((900, 700), (200, 500), 2.5)])
def test_detects_a_real_face_in_a_scene(astronaut, size, at, scale):
    scene, truth = scene_with(astronaut, size, at, scale)
    found = [f for f in detect_faces(scene) if not f.too_small]
    assert found and iou(found[0].box, truth) > 0.6


def test_a_tilted_face_is_turned_level(astronaut):
    upright = detect_faces(astronaut)[0].angle
    for tilt in (-12, 12):
        scene, truth = scene_with(astronaut, (512, 512), (256, 256), 1.0, angle=tilt)
        face = detect_faces(scene)[0]
        # cv2 turns counter-clockwise for a positive angle; in y-down pixels that is a negative tilt
        assert face.angle - upright == pytest.approx(-tilt, abs=4)


def test_a_tiny_face_is_reported_as_too_small(astronaut):
    import cv2
    small = cv2.resize(astronaut, (80, 80), interpolation=cv2.INTER_AREA)
    found = detect_faces(small)
    assert found and found[0].too_small


# --------------------------------------------------------------------------------------------
# faceedit edit on whole photos

def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def one_face(monkeypatch):
    """The detector, mocked: one face in the middle of any photo (or wherever ``set`` says)."""
    where = {}

    def detect(rgb, align=True):
        h, w = rgb.shape[:2]
        if "faces" in where:
            return where["faces"]
        return [face_from_box(w / 2 - w / 6, h / 2 - h / 6, w / 3, w / 3, 5.0)]
    monkeypatch.setattr(F, "detect_faces", detect)
    return where


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_edit_writes_the_full_photo_and_a_zero_edit_is_the_photo(tiny, tmp_path, capsys, one_face):
    photo = tmp_path / "p.png"
    Image.fromarray(noise(150, 200)).save(photo)
    assert run(["edit", photo, "--model", tiny, "--out", tmp_path / "same.png"], capsys)[0] == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "same.png")), np.asarray(Image.open(photo)))
    code, out, _ = run(["edit", photo, "--model", tiny, "--set", "Smiling=+1", "--out", tmp_path / "smile.png"], capsys)
    assert code == 0 and "wrote" in out
    edited = np.asarray(Image.open(tmp_path / "smile.png")).astype(int)
    original = np.asarray(Image.open(photo)).astype(int)
    assert edited.shape == original.shape and (edited != original).any()
    assert not (edited[:, :40] != original[:, :40]).any()  # far from the face: untouched
    assert run(["edit", photo, "--model", tiny, "--set", "Smiling=+1", "--face-only", "--size", 128,
                "--out", tmp_path / "face.png"], capsys)[0] == 0
    assert Image.open(tmp_path / "face.png").size == (128, 128)


@pytest.mark.parametrize("mode", ["L", "CMYK", "I;16", "RGBA", "P"])
def test_edit_any_image_mode(tiny, tmp_path, capsys, one_face, mode):
    rgb = Image.fromarray(noise(120, 160))
    if mode == "I;16":
        im = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    elif mode == "RGBA":
        im = rgb.copy()
        im.putalpha(Image.fromarray(np.tile(np.arange(160, dtype=np.uint8), (120, 1))))
    else:
        im = rgb.convert(mode)
    src = tmp_path / ("in.jpg" if mode == "CMYK" else "in.png")
    im.save(src)
    out = tmp_path / "out.png"
    code, _, err = run(["edit", src, "--model", tiny, "--set", "Smiling=+1", "--out", out], capsys)
    assert code == 0, err
    with Image.open(out) as result:
        assert result.size == (160, 120)
        assert result.mode == ("RGBA" if mode == "RGBA" else "RGB")
        if mode == "RGBA":  # the transparency comes back unchanged
            assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(im.getchannel("A")))


def test_edit_keeps_orientation_and_profile_and_drops_gps(tiny, tmp_path, capsys, one_face):
    stored = Image.fromarray(noise(90, 130)).transpose(Image.Transpose.ROTATE_90)  # 90 wide, 130 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: 130 wide, 90 tall
    exif[0x010F] = "FaceCam"
    exif[0x8825] = {1: "N", 2: (52.0, 12.0, 0.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "cam.jpg"
    stored.save(src, exif=exif, icc_profile=icc, quality=95)
    for name, extra in (("out.jpg", []), ("gps.jpg", ["--keep-gps"])):
        assert run(["edit", src, "--model", tiny, "--set", "Smiling=+1", "--out", tmp_path / name, *extra], capsys)[0] == 0
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (130, 90)
        assert out.info.get("icc_profile") == icc
        tags = out.getexif()
        assert tags.get(0x010F) == "FaceCam" and 0x8825 not in tags and tags.get(0x0112, 1) == 1
    with Image.open(tmp_path / "gps.jpg") as out:
        assert 0x8825 in out.getexif()


def test_no_face_starts_from_the_centre(tiny, tmp_path, capsys):
    src = tmp_path / "wall.png"
    Image.fromarray(noise(100, 160)).save(src)
    code, _, err = run(["edit", src, "--model", tiny, "--set", "Smiling=+1", "--out", tmp_path / "o.png"], capsys)
    assert code == 0 and "no face found" in err
    diff = np.asarray(Image.open(tmp_path / "o.png")).astype(int) - np.asarray(Image.open(src)).astype(int)
    changed = np.nonzero(diff.any(2))[1]
    assert changed.min() >= 30 and changed.max() < 130  # only inside the centre square


def test_tiny_face_is_refused_and_nothing_is_written(tiny, tmp_path, capsys, one_face):
    src = tmp_path / "crowd.png"
    Image.fromarray(noise(100, 160)).save(src)
    one_face["faces"] = [face_from_box(50, 40, 16, 16)]
    code, _, err = run(["edit", src, "--model", tiny, "--out", tmp_path / "o.png"], capsys)
    assert code == 1 and "face too small" in err and "--crop" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists() and leftovers(tmp_path) == []
    # --crop still works on it
    assert run(["edit", src, "--model", tiny, "--crop", "40,30,40", "--out", tmp_path / "o.png"], capsys)[0] == 0


def test_face_at_the_edge_and_several_faces(tiny, tmp_path, capsys, one_face):
    src = tmp_path / "edge.png"
    Image.fromarray(noise(100, 160)).save(src)
    one_face["faces"] = [face_from_box(130, -10, 40, 40, 10.0), face_from_box(10, 40, 30, 30)]
    code, _, err = run(["edit", src, "--model", tiny, "--set", "Smiling=+1", "--out", tmp_path / "a.png"], capsys)
    assert code == 0 and "2 faces" in err
    assert run(["edit", src, "--model", tiny, "--face", 2, "--out", tmp_path / "b.png"], capsys)[0] == 0
    code, _, err = run(["edit", src, "--model", tiny, "--face", 3, "--out", tmp_path / "c.png"], capsys)
    assert code == 1 and "2 faces" in err and not (tmp_path / "c.png").exists()


def test_a_decompression_bomb_is_refused(tiny, tmp_path, capsys):
    import struct
    import zlib
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", 30000, 30000) + bytes(data[24:29])  # the header claims 30,000×30,000
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    src = tmp_path / "bomb.png"
    src.write_bytes(bytes(data))
    code, _, err = run(["edit", src, "--model", tiny, "--out", tmp_path / "o.png"], capsys)
    assert code == 1 and ("larger than" in err or "decompression bomb" in err) and len(err.splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_full_photo_loader_modes(tmp_path):
    grey = tmp_path / "g.png"
    Image.fromarray(np.full((10, 12), 77, np.uint8)).save(grey)
    photo = open_full_photo(grey)
    assert photo.rgb.shape == (10, 12, 3) and (photo.rgb == 77).all() and photo.alpha is None
    buf = io.BytesIO()
    Image.fromarray(noise(8, 8)).convert("CMYK").save(buf, "JPEG", icc_profile=b"not an rgb profile")
    (tmp_path / "c.jpg").write_bytes(buf.getvalue())
    assert open_full_photo(tmp_path / "c.jpg").icc_profile is None  # a CMYK profile does not fit RGB output
