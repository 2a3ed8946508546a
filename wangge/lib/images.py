"""Uploaded photos keep their pixels and lose everything else before they are stored.

A phone photo carries EXIF (often the GPS position of the home it was taken in, the phone model,
the time), XMP, IPTC, an ICC profile naming the device, comments. Some photos are shown on
public pages (micro-wishes, project photos, public case attachments), so under PIPL we store
only a fresh encoding of the pixels: `clean_image` is called by every action that stores an
upload, before anything is written.

- JPEG, PNG and WebP are decoded and re-encoded in the same format. The EXIF orientation is
  applied to the pixels first (so a portrait photo stays upright), and pixels in a colour profile
  other than sRGB are converted to sRGB before the profile is dropped, so colours stay right.
- A file that says it is such an image (by its content type or its first bytes) but does not
  decode is refused, and so is a decompression bomb: a small file that would unpack into a huge
  bitmap. Memory stays bounded: the file is at most WANGGE_ATTACHMENT_MAX_BYTES and the bitmap
  at most MAX_PIXELS.
- Anything else an action accepts (a PDF) passes through unchanged; that action has judged it.
"""

import io
import struct
import warnings

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

from wangge.lib.errors import InvalidInput, PayloadTooLarge

# content type → Pillow's format name, and the first bytes that say which one a file really is
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_FORMATS = list(IMAGE_TYPES.values())
# 40 megapixels is more than any phone photo of at most 5 MB (12 to 24 MP) and keeps one decoded
# RGBA bitmap under 160 MB; Pillow's own MAX_IMAGE_PIXELS (about 89 MP) still applies if lower.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 90  # a re-encoded photo looks the same and is seldom larger than the original
WEBP_QUALITY = 90
# Only what pixels mean survives the re-encoding: a palette's transparent entry.
_KEEP_INFO = ("transparency",)

NOT_AN_IMAGE = _("This photo could not be read. Choose a JPEG, PNG or WebP image.")
TOO_MANY_PIXELS = _("This image has too many pixels (at most %(mp)s megapixels).")

# What a broken or hostile file makes Pillow raise; anything else is our bug and propagates.
_DECODE_ERRORS = (
    OSError,  # includes UnidentifiedImageError and truncated files
    ValueError,
    SyntaxError,  # some decoders report a malformed header so
    EOFError,
    IndexError,
    struct.error,
)
# Pillow's own guard (MAX_IMAGE_PIXELS): an error above twice the limit, a warning above it,
# which the filter in _reencode turns into an exception.
_BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class _TooManyPixels(Exception):
    pass


def check_size(upload) -> None:
    """PayloadTooLarge for an upload over WANGGE_ATTACHMENT_MAX_BYTES (every stored file)."""
    limit = settings.WANGGE_ATTACHMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(_("The file is larger than %(mb)s MB."), mb=limit // (1024 * 1024))


def content_type_of(upload) -> str:
    return (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()


def sniff_image(upload) -> str | None:
    """The image content type a file really is, by its first bytes; None if not JPEG/PNG/WebP."""
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_image(upload, *, field: str = "file"):
    """The upload as it should be stored: a JPEG, PNG or WebP re-encoded without metadata (same
    name, same content type), anything else unchanged. Raises InvalidInput (on `field`) for a
    file that claims to be an image but does not decode, and PayloadTooLarge over the limit."""
    declared = content_type_of(upload)
    real = sniff_image(upload)
    if real is None:
        if declared.startswith("image/"):  # one we cannot read could not be cleaned either
            raise InvalidInput(fields={field: NOT_AN_IMAGE})
        return upload
    check_size(upload)
    # Stored as what it says it is when that is one of ours (a .png that is really a JPEG is
    # re-encoded as PNG, so name, type and bytes agree); otherwise as what it really is.
    content_type = declared if declared in IMAGE_TYPES else real
    try:
        data = _reencode(upload, IMAGE_TYPES[content_type])
    except (_TooManyPixels, *_BOMBS):
        mp = _max_pixels() // 1_000_000
        raise InvalidInput(fields={field: TOO_MANY_PIXELS % {"mp": mp}}) from None
    except _DECODE_ERRORS:
        raise InvalidInput(fields={field: NOT_AN_IMAGE}) from None
    finally:
        upload.seek(0)
    return SimpleUploadedFile(upload.name or "photo", data, content_type=content_type)


def _max_pixels() -> int:
    return min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)


def _reencode(upload, fmt: str) -> bytes:
    upload.seek(0)
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a bomb is refused, not stored
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(upload, formats=_FORMATS) as img:
            # the header gives the size: refuse before a single pixel is decoded
            if img.width * img.height > _max_pixels():
                raise _TooManyPixels
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # in place: one bitmap, not two
            picture = _mode_for(_to_srgb(img), fmt)
            # A saver may write back anything in `info` (comment, ICC, XMP, EXIF): keep none.
            picture.info = {k: v for k, v in picture.info.items() if k in _KEEP_INFO}
            out = io.BytesIO()
            if fmt == "JPEG":
                picture.save(out, "JPEG", quality=JPEG_QUALITY)
            elif fmt == "WEBP":
                picture.save(out, "WEBP", quality=WEBP_QUALITY)
            else:
                picture.save(out, "PNG")
    return out.getvalue()


def _to_srgb(picture: Image.Image) -> Image.Image:
    """Pixels in a camera's profile (Display P3 and the like) become sRGB, what a page assumes
    without a profile; a profile that cannot be read is simply dropped."""
    icc = picture.info.get("icc_profile")
    if not icc or picture.mode not in ("RGB", "RGBA"):
        return picture
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            picture, source, ImageCms.createProfile("sRGB"), outputMode=picture.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return picture


def _mode_for(picture: Image.Image, fmt: str) -> Image.Image:
    """A mode the target format can hold: JPEG has no alpha (flattened onto white)."""
    if fmt == "JPEG":
        if picture.mode in ("RGB", "L", "CMYK"):
            return picture
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if fmt == "WEBP" and picture.mode not in ("RGB", "RGBA"):
        return picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    if fmt == "PNG" and picture.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
        return picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    return picture
