"""Decoding untrusted image bytes."""

import io

import numpy as np
import pytest
from image_decoding import (
    ImageDecodeError,
    ImageTooLarge,
    decode_image,
    load_rgb,
    open_image,
    resize_for_model,
    to_rgb,
)
from PIL import Image


def encoded(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def test_jpeg_and_png_decode_to_rgb():
    for fmt in ("JPEG", "PNG"):
        img = decode_image(encoded(Image.new("L", (10, 6), 200), fmt))
        assert (img.mode, img.size) == ("RGB", (10, 6))


def test_other_formats_are_refused_by_content():
    with pytest.raises(ImageDecodeError, match="unsupported image format BMP"):
        decode_image(encoded(Image.new("RGB", (4, 4)), "BMP"))


def test_pixel_limit_is_checked_before_decoding():
    with pytest.raises(ImageDecodeError, match="exceeds the limit of 100"):
        decode_image(encoded(Image.new("RGB", (11, 10)), "PNG"), max_pixels=100)


def test_an_oversized_image_is_an_image_decode_error_to_callers_that_catch_those():
    with pytest.raises(ImageDecodeError) as refused:
        decode_image(encoded(Image.new("L", (11, 10)), "PNG"), max_pixels=100)

    assert isinstance(refused.value, ImageTooLarge)


def test_open_image_reports_the_size_without_decoding_pixels():
    # Half a JPEG: its header is intact, its pixels are not, so only decoding can fail.
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), "JPEG")
    truncated = data[: len(data) // 2]

    assert open_image(truncated).size == (64, 48)
    with pytest.raises(ImageDecodeError, match="corrupt image data"):
        load_rgb(open_image(truncated))


def test_sixteen_bit_greyscale_is_rescaled_not_clipped():
    img = Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))

    assert to_rgb(img).getpixel((0, 0)) == (127, 127, 127)


def test_transparent_pixels_become_white():
    assert to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)


def test_cmyk_is_converted():
    assert to_rgb(Image.new("CMYK", (2, 2), (0, 0, 0, 0))).mode == "RGB"


def test_resize_for_model_keeps_an_image_of_the_right_size():
    img = Image.new("RGB", (64, 64))

    assert resize_for_model(img, 64) is img
    assert resize_for_model(Image.new("RGB", (96, 80)), 64).size == (64, 64)
