"""Writes the Pillow goldens of PillowGoldenTest (run with Pillow installed; numpy for the inputs).

Each case is an input image in some mode and the RGB result of CLIP's reference preprocessing
geometry on it, computed by Pillow exactly as torchvision does on a PIL image: Resize(n, BICUBIC)
on the shorter side (the longer side truncated), CenterCrop(n) with round-half-even offsets,
convert("RGB"); "exif_*" cases are first turned upright with ImageOps.exif_transpose, "resize_*"
cases are a plain resize to W x H. Expected outputs are saved as RGB PNGs (lossless).
"""
import io
import numpy as np
from PIL import Image, ImageOps

N = 16
rng = np.random.default_rng(7)


def ramp(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    planes = [((x * 255) // (w - 1) + k * 40) % 256 for k in range(c)]
    a = np.stack(planes, -1).astype(np.int32)
    a = (a + rng.integers(-30, 31, a.shape)) % 256
    a[h // 3, :] = 255
    a[:, w // 2] = 0
    return a.astype(np.uint8)


def reference(im, n=N, size=None):
    if size is not None:
        return im.resize(size, Image.BICUBIC).convert("RGB")
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(n * long / short)
    nw, nh = (n, new_long) if w <= h else (new_long, n)
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = int(round((nw - n) / 2.0)), int(round((nh - n) / 2.0))
    return im.crop((left, top, left + n, top + n)).convert("RGB")


def save(name, im, **kw):
    im.save(name, **kw)
    return Image.open(name)


cases = {}
cases["gray_L.png"] = save("gray_L.png", Image.fromarray(ramp(31, 45, 1)[..., 0], "L"))
cases["bilevel.png"] = save("bilevel.png", Image.fromarray(ramp(33, 29, 1)[..., 0] > 128).convert("1"))
pal = Image.fromarray(ramp(27, 41, 3), "RGB").quantize(16)
cases["palette.png"] = save("palette.png", pal)
cases["palette_trns.png"] = save("palette_trns.png", pal, transparency=3)
rgba = ramp(30, 37, 4)
rgba[:5, :, 3] = 0
rgba[5:10, :, 3] = 255
cases["rgba.png"] = save("rgba.png", Image.fromarray(rgba, "RGBA"))
cases["la.png"] = save("la.png", Image.fromarray(ramp(37, 30, 2), "LA"))
cases["small_upscale.png"] = save("small_upscale.png", Image.fromarray(ramp(7, 9, 3), "RGB"))
exif = Image.Exif()
exif[0x0112] = 6
cases["exif6.png"] = save("exif6.png", Image.fromarray(ramp(20, 34, 3), "RGB"), exif=exif.tobytes())
cases["gray.jpg"] = save("gray.jpg", Image.fromarray(ramp(31, 45, 1)[..., 0], "L"), quality=90)
cases["rgb.jpg"] = save("rgb.jpg", Image.fromarray(ramp(31, 45, 3), "RGB"), quality=90)
cases["cmyk.jpg"] = save("cmyk.jpg", Image.fromarray(ramp(26, 35, 4), "CMYK"), quality=90)
# the same data declared YCCK (Adobe transform byte 2), a valid YCCK file
data = bytearray(open("cmyk.jpg", "rb").read())
at = data.find(b"Adobe")
assert data[at + 11] == 0
data[at + 11] = 2
open("ycck.jpg", "wb").write(data)
cases["ycck.jpg"] = Image.open("ycck.jpg")

for name, im in cases.items():
    im.load()
    src = ImageOps.exif_transpose(im) if name.startswith("exif") else im
    out = reference(src)
    out.save("expected_" + name.rsplit(".", 1)[0] + ".png")
    print(name, im.mode, im.size, "->", out.size)

reference(cases["rgba.png"], size=(20, 12)).save("expected_resize_rgba_20x12.png")
reference(cases["palette.png"], size=(12, 20)).save("expected_resize_palette_12x20.png")
