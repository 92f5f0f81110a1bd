import pytest
import torch
from PIL import Image

from faceedit.core.images import PhotoError, crop_to_tensor, open_photo, photo_to_tensor, to_pil, to_rgb_bytes


def _half_red_half_blue(w=40, h=20):
    im = Image.new("RGB", (w, h), (255, 0, 0))
    im.paste((0, 0, 255), (w // 2, 0, w, h))
    return im


def test_exif_orientation_is_applied(tmp_path):
    im = _half_red_half_blue()  # stored landscape: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif, quality=95)
    upright = open_photo(path)
    assert upright.size == (20, 40)  # portrait once upright
    top, bottom = upright.getpixel((10, 2)), upright.getpixel((10, 37))
    assert top[0] > 200 and bottom[2] > 200  # red on top, blue at the bottom


@pytest.mark.parametrize("mode", ["P", "RGBA", "LA", "L", "I;16", "CMYK", "1"])
def test_odd_modes_become_rgb(tmp_path, mode):
    im = _half_red_half_blue().convert("RGBA" if mode in ("RGBA", "LA") else "RGB").convert(mode)
    path = tmp_path / f"odd.{'tif' if mode in ('CMYK', 'I;16') else 'png'}"
    im.save(path)
    t = photo_to_tensor(path)
    assert t.shape == (3, 64, 64) and t.dtype == torch.uint8


def test_transparency_is_composited_on_white(tmp_path):
    im = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    path = tmp_path / "clear.png"
    im.save(path)
    assert photo_to_tensor(path).min() == 255


def test_not_an_image_and_missing_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is text")
    with pytest.raises(PhotoError, match="notes.jpg: not an image"):
        open_photo(path)
    with pytest.raises(PhotoError, match="no such file"):
        open_photo(tmp_path / "missing.png")


def test_huge_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000)).save(path)
    with pytest.raises(PhotoError, match="3000×2000, larger than"):
        open_photo(path, max_pixels=5_000_000)


def test_crop_box_and_round_trip():
    im = _half_red_half_blue(100, 50)
    left = crop_to_tensor(im, (0, 0, 50))
    assert left[0].float().mean() > 250 and left[2].float().mean() < 5  # all red
    t = torch.rand(3, 64, 64)
    data, w, h = to_rgb_bytes(t)
    assert (w, h) == (64, 64) and len(data) == 64 * 64 * 3
    assert to_pil(t, 256).size == (256, 256)
