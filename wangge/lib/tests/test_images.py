"""clean_image: what is stored of a phone photo is its pixels, upright, without the GPS position
of the home, the phone model, the time or any other metadata; a file that only pretends to be a
photo, or would unpack into a huge bitmap, is refused; a PDF passes as it came."""

import io

import pytest
from django.utils import translation
from PIL import Image, ImageCms

from wangge.lib import images
from wangge.lib.errors import InvalidInput, PayloadTooLarge
from wangge.lib.images import clean_image
from wangge.lib.tests.photos import (
    BROKEN,
    PDF,
    assert_clean,
    gps_upload,
    phone_photo,
    read_back,
    upload,
)


def _refusal(exc_info, field="file") -> str:
    assert list(exc_info.value.fields) == [field]
    return str(exc_info.value.fields[field])


def test_a_phone_jpeg_loses_gps_model_time_and_comments_and_stays_upright():
    sent = gps_upload("路灯.jpg")
    original = read_back(sent.read())
    assert original.getexif().get_ifd(0x8825)  # the photo as sent does carry a GPS position
    assert original.size == (64, 48)

    cleaned = clean_image(sent)

    assert (cleaned.name, cleaned.content_type) == ("路灯.jpg", "image/jpeg")
    stored = read_back(cleaned.read())
    assert stored.format == "JPEG"
    assert_clean(stored, size=(48, 64))  # orientation 6 applied to the pixels
    assert cleaned.size == len(stored.raw_bytes)
    # the top-left of the upright picture is what the phone saw at its bottom-left: red
    assert stored.convert("RGB").getpixel((2, 2))[0] > 150


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_lose_their_metadata_too(fmt, content_type):
    data = phone_photo(fmt=fmt, orientation=8)
    assert b"home-of-the-reporter" in data

    cleaned = clean_image(upload(data, f"a.{fmt.lower()}", content_type))

    stored = read_back(cleaned.read())
    assert (stored.format, cleaned.content_type) == (fmt, content_type)
    assert_clean(stored, size=(48, 64))


def test_an_icc_profile_is_dropped_after_the_colours_are_converted_to_srgb():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out, "PNG", icc_profile=srgb)
    out_lab = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out_lab, "JPEG", icc_profile=profile)

    for data, content_type in ((out.getvalue(), "image/png"), (out_lab.getvalue(), "image/jpeg")):
        stored = read_back(clean_image(upload(data, "c", content_type)).read())
        assert "icc_profile" not in stored.info
    # an sRGB photo keeps its colours
    stored = read_back(clean_image(upload(out.getvalue(), "c.png", "image/png")).read())
    assert stored.convert("RGB").getpixel((4, 4)) == (10, 200, 30)


def test_a_transparent_png_keeps_its_transparency():
    out = io.BytesIO()
    picture = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    picture.putpixel((1, 1), (255, 0, 0, 255))
    picture.save(out, "PNG")

    stored = read_back(clean_image(upload(out.getvalue(), "t.png", "image/png")).read())

    assert stored.convert("RGBA").getpixel((0, 0))[3] == 0
    assert stored.convert("RGBA").getpixel((1, 1)) == (255, 0, 0, 255)


def test_a_pdf_passes_unchanged():
    sent = upload(PDF, "会议记录.pdf", "application/pdf")

    kept = clean_image(sent)

    assert kept is sent
    assert kept.read() == PDF


def test_a_photo_sent_under_another_type_is_still_cleaned():
    """Metadata does not get through by calling a JPEG a PDF, or a PNG."""
    as_pdf = clean_image(upload(phone_photo(), "x.pdf", "application/pdf"))
    as_png = clean_image(upload(phone_photo(), "x.png", "image/png"))

    assert as_pdf.content_type == "image/jpeg"
    assert_clean(read_back(as_pdf.read()))
    assert as_png.content_type == "image/png"
    assert read_back(as_png.read()).format == "PNG"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (BROKEN, "image/jpeg"),  # JPEG's first bytes, then nothing of a picture
        (phone_photo()[:300], "image/jpeg"),  # cut off in transit
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
        (b"GIF89a" + b"\x00" * 40, "image/gif"),  # an image type we cannot clean
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
    ],
)
def test_a_file_that_claims_to_be_an_image_but_does_not_decode_is_refused(data, content_type):
    with translation.override("en"):
        with pytest.raises(InvalidInput) as exc_info:
            clean_image(upload(data, "现场.jpg", content_type))
        # Read inside the override: the message is translated when it is shown.
        assert (
            _refusal(exc_info) == "This photo could not be read. Choose a JPEG, PNG or WebP image."
        )


def test_the_refusal_names_the_field_the_action_asked_for():
    with pytest.raises(InvalidInput) as exc_info:
        clean_image(upload(BROKEN), field="photos")
    assert _refusal(exc_info, "photos")


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 40 * 40)
    bomb = upload(phone_photo(size=(80, 60)), "bomb.jpg")

    with translation.override("en"):
        with pytest.raises(InvalidInput) as exc_info:
            clean_image(bomb)
        refusal = _refusal(exc_info)

    assert "too many pixels" in refusal
    assert clean_image(upload(phone_photo(size=(40, 40)), "ok.jpg")).size > 0


@pytest.mark.parametrize("pixels", [70 * 60, 50 * 60])  # Pillow's error, Pillow's warning
def test_pillows_own_bomb_guard_also_refuses(monkeypatch, pixels):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    monkeypatch.setattr(images, "MAX_PIXELS", 10**9)
    data = phone_photo(size=(pixels // 60, 60))

    with pytest.raises(InvalidInput) as exc_info:
        clean_image(upload(data))

    assert list(exc_info.value.fields) == ["file"]


def test_an_image_over_the_upload_limit_is_refused_before_it_is_decoded(settings):
    settings.WANGGE_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(PayloadTooLarge):
        clean_image(gps_upload())
