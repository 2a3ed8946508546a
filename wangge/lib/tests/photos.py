"""Photos for the metadata tests, made here with Pillow: what a phone sends (EXIF with the GPS
position of the home, the phone model, the time, an orientation; XMP; a comment) and ways to
read a stored file back."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

# 成都 武侯区: where the "home" of these photos is
LAT, LON = (30.0, 38.0, 24.5), (104.0, 2.0, 37.2)
PHONE_MODEL = "PhoneModel-X9"
SECRET_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">home-of-the-reporter</x:xmpmeta>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BROKEN = b"\xff\xd8\xff\xe0" + b"not really a photo" * 20


def phone_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = PHONE_MODEL
    exif[ExifTags.Base.DateTime] = "2026:11:24 07:31:02"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LAT
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = LON
    return exif


def phone_photo(size=(64, 48), fmt: str = "JPEG", orientation: int = 6, **save) -> bytes:
    """A photo as a phone stores it: `size` in the sensor's pixels, turned by `orientation`."""
    picture = Image.new("RGB", size, (200, 60, 40))
    picture.paste((30, 90, 200), (0, 0, size[0] // 2, size[1] // 4))  # something to keep
    out = io.BytesIO()
    if fmt == "JPEG":
        extra = {"comment": b"IMG_2041 at home", "xmp": SECRET_XMP}
    elif fmt == "PNG":  # PNG keeps XMP and comments in text chunks
        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", SECRET_XMP.decode())
        text.add_text("Comment", "IMG_2041 at home")
        extra = {"pnginfo": text}
    else:
        extra = {"xmp": SECRET_XMP}
    picture.save(out, fmt, exif=phone_exif(orientation), **extra, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "现场.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def gps_upload(name: str = "现场.jpg") -> SimpleUploadedFile:
    """A 64×48 JPEG with orientation 6 (shown upright as 48×64) and the home's GPS position."""
    return upload(phone_photo(), name)


def read_back(data_or_file) -> Image.Image:
    """The stored bytes opened with Pillow, fully decoded (a broken file raises here)."""
    if hasattr(data_or_file, "open"):
        with data_or_file.open("rb") as f:
            data = f.read()
    else:
        data = data_or_file
    picture = Image.open(io.BytesIO(data))
    picture.load()
    picture.raw_bytes = data
    return picture


def assert_clean(picture: Image.Image, size=(48, 64)) -> None:
    """No EXIF (so no GPS, model or time), no XMP or comment, still the photo, upright."""
    exif = picture.getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert dict(exif) == {}
    for secret in (PHONE_MODEL.encode(), b"home-of-the-reporter", b"IMG_2041", b"Exif\x00\x00"):
        assert secret not in picture.raw_bytes
    assert picture.size == size
