"""HEIC photos (iPhone, macOS) open like any other photo, through pillow-heif."""
import pytest
from PIL import Image

from faceedit.core.images import crop_to_tensor, open_photo

pillow_heif = pytest.importorskip("pillow_heif")


def test_a_heic_photo_opens_upright_and_crops(tmp_path):
    im = Image.new("RGB", (64, 32), (230, 20, 20))
    im.paste((20, 20, 230), (32, 0, 64, 32))
    path = tmp_path / "IMG_0001.HEIC"
    im.save(path, format="HEIF", quality=95)
    assert path.read_bytes()[4:12] in (b"ftypheic", b"ftypmif1")  # really a HEIF container, not a renamed PNG
    photo = open_photo(path)
    assert photo.mode == "RGB" and photo.size == (64, 32)
    left, right = photo.getpixel((8, 16)), photo.getpixel((56, 16))
    assert left[0] > 180 and left[2] < 80 and right[2] > 180 and right[0] < 80
    assert tuple(crop_to_tensor(photo).shape) == (3, 64, 64)


def test_the_open_dialog_offers_heic():
    from faceedit.gui.open_actions import PHOTO_FILTER

    assert "*.heic" in PHOTO_FILTER and "*.heif" in PHOTO_FILTER
