"""Safe decoding of untrusted image bytes into RGB Pillow images, and resizing for the model.

Used by the inference handler (client payloads) and the data loader (dataset PNGs). Decoding is
by content, never by name or declared type: only JPEG and PNG are accepted, the pixel count is
checked from the header before any pixel is decoded (a decompression bomb is an error, not a
Pillow warning), and ``load()`` runs eagerly because ``verify()`` lets truncated JPEGs through.
``open_image`` and ``load_rgb`` are the two halves of ``decode_image``, for callers that check
several images' sizes before decoding any of them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = frozenset({"JPEG", "PNG"})
# 16 megapixels: far above any camera frame the model is meant for, far below a bomb.
MAX_IMAGE_PIXELS = 4096 * 4096


class ImageDecodeError(ValueError):
    """The bytes are not an acceptable image; the message says why."""


class ImageTooLarge(ImageDecodeError):
    """The image has more pixels than allowed (decompression bombs included)."""


def open_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open JPEG or PNG bytes lazily, checking format and pixel count; no pixel is decoded yet."""
    if not data:
        raise ImageDecodeError("empty image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(f"not a decodable image: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise ImageDecodeError(f"not a decodable image: {exc}") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageDecodeError(f"corrupt image data: {exc}") from exc
    if img.format not in ALLOWED_FORMATS:
        raise ImageDecodeError(f"unsupported image format {img.format}; expected JPEG or PNG")
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageDecodeError(f"image of {width}x{height} pixels has no pixels")
    if width * height > max_pixels:
        raise ImageTooLarge(f"image of {width}x{height} pixels exceeds the limit of {max_pixels}")
    return img


def load_rgb(img: Image.Image) -> Image.Image:
    """Decode an image from ``open_image`` into RGB, or raise ImageDecodeError."""
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        # Truncated or corrupt data surfaces as OSError/SyntaxError from the decoders.
        raise ImageDecodeError(f"corrupt image data: {exc}") from exc
    return to_rgb(img)


def decode_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode JPEG or PNG bytes into a fully loaded RGB image, or raise ImageDecodeError."""
    return load_rgb(open_image(data, max_pixels=max_pixels))


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; 16/32-bit greyscale is rescaled, not clipped."""
    if img.mode == "RGB":
        return img
    if img.mode in {"I;16", "I;16B", "I;16L", "I"}:
        # Pillow's own conversion clips 16-bit values to 255 (a white image): rescale instead.
        values = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") else max(float(values.max()), 1.0)
        grey = np.clip(values / peak * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if img.mode in {"RGBA", "LA", "PA"} or (img.mode == "P" and "transparency" in img.info):
        # Composite transparency onto white so transparent pixels do not turn black.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def resize_for_model(img: Image.Image, image_size: int) -> Image.Image:
    """Resize an RGB image to the model's square input, as the dataset preparation does."""
    if img.size == (image_size, image_size):
        return img
    return img.resize((image_size, image_size), Image.Resampling.BILINEAR)


def image_to_array(img: Image.Image) -> np.ndarray:
    """Return the HxWx3 uint8 array of an RGB image."""
    return np.asarray(img, dtype=np.uint8)
