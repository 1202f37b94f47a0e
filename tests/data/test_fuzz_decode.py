"""Fuzzing the scan: random and mutated image bytes must never crash it, and whatever it keeps must decode.

Each example is written to a file and checked with `check_file` (the per-file
step of `scan_files`). The properties:

- the scan returns a verdict and never raises, and a skip always has a reason and a detail;
- a kept file (or its converted copy) decodes with the training pipeline's `decode_image`;
- the size the scan read from the header is the size TensorFlow decodes (for a
  GIF, at least as large), so the `max_pixels` guard sees the real allocation.

Derandomized, with a per-example deadline: 2,100 generated examples plus 313 fixed ones.
"""

import io
import itertools
import random
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keras_transfer.data.images import decode_image
from keras_transfer.data.scan import REASON_TEXT, Status, check_file, scan_files, sniff_format
from keras_transfer.testing.brokenfiles import encode, sample_image

MAX_PIXELS = 1 << 16  # the 16 x 12 seeds are far below; mutated headers claiming more stop at the header check
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PIL.Image.DecompressionBombWarning")


def _seeds() -> dict[str, bytes]:
    picture = sample_image(16, 12)
    frames = [sample_image(16, 12, seed=seed).convert("P") for seed in range(3)]
    return {
        "baseline.jpg": encode(picture, "JPEG", quality=80),
        "progressive.jpg": encode(picture, "JPEG", quality=80, progressive=True),
        "cmyk.jpg": encode(picture.convert("CMYK"), "JPEG"),
        "rgb.png": encode(picture, "PNG"),
        "palette.png": encode(picture.convert("P"), "PNG"),
        "gray16.png": encode(Image.fromarray(np.asarray(picture.convert("L")).astype(np.uint16) * 257), "PNG"),
        "still.gif": encode(frames[0], "GIF"),
        "animated.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "rgb.bmp": encode(picture, "BMP"),
        "palette.bmp": encode(picture.convert("P"), "BMP"),
        "lossy.webp": encode(picture, "WEBP"),
        "lossless.webp": encode(picture, "WEBP", lossless=True),
        "image.tif": encode(picture, "TIFF"),
    }


SEEDS = _seeds()
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"II*\x00")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


_counter = itertools.count()


def _check(workdir: Path, data: bytes, name: str):
    path = workdir / f"{next(_counter)}_{name}"
    path.write_bytes(data)
    check = check_file(path, max_pixels=MAX_PIXELS, conversion_dir=workdir / "converted")
    _assert_sound(check, data)
    path.unlink()
    return check


def _assert_sound(check, data: bytes) -> None:
    assert check.status in (Status.OK, Status.CONVERTED, Status.SKIPPED)
    if check.status == Status.SKIPPED:
        assert check.reason in REASON_TEXT and check.detail
        return
    usable = check.converted_path or check.path
    pixels = decode_image(tf.io.read_file(usable), (8, 8)).numpy()
    assert pixels.shape == (8, 8, 3) and np.isfinite(pixels).all()
    decoded = tf.io.decode_image(Path(usable).read_bytes(), channels=3, expand_animations=False)
    height, width = decoded.shape[:2]
    assert height * width <= MAX_PIXELS
    if check.status == Status.CONVERTED:
        assert Path(usable).read_bytes().startswith(b"\x89PNG") and (width, height) == (check.width, check.height)
    elif check.format == "GIF":  # TensorFlow may stop at a broken frame that the header walk still counted
        assert height <= check.height and width <= check.width
    else:
        assert (height, width) == (check.height, check.width)


def _mutate(data: bytes, rng: random.Random, operations: int) -> bytes:
    out = bytearray(data)
    for _ in range(operations):
        kind = rng.choice(("flip", "flip_header", "truncate", "splice", "overwrite", "duplicate"))
        position = rng.randrange(max(len(out), 1))
        if kind == "flip" and out:
            out[position] ^= 1 << rng.randrange(8)
        elif kind == "flip_header" and out:
            out[rng.randrange(min(len(out), 48))] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del out[position:]
        elif kind == "splice":
            donor = SEEDS[rng.choice(sorted(SEEDS))]
            start = rng.randrange(len(donor))
            out[position : position + rng.randrange(64)] = donor[start : start + rng.randrange(1, 256)]
        elif kind == "overwrite" and out:
            out[position : position + 4] = rng.randbytes(4)
        elif kind == "duplicate":
            out[position:position] = out[position : position + rng.randrange(1, 128)]
    return bytes(out)


@settings(FUZZ, max_examples=300)
@given(data=st.binary(max_size=4096))
def test_random_bytes(workdir, data):
    check = _check(workdir, data, "random.jpg")
    assert check.status != Status.OK or sniff_format(data) is not None


@settings(FUZZ, max_examples=300)
@given(signature=st.sampled_from(SIGNATURES), tail=st.binary(max_size=2048))
def test_image_signatures_followed_by_garbage(workdir, signature, tail):
    _check(workdir, signature + tail, "garbage.png")


@settings(FUZZ, max_examples=1500)
@given(
    name=st.sampled_from(sorted(SEEDS)),
    seed=st.integers(0, 2**32 - 1),
    operations=st.integers(1, 4),
    extension=st.sampled_from(("", ".jpg", ".png", ".gif", ".bmp", ".webp")),
)
def test_mutated_images(workdir, name, seed, operations, extension):
    data = _mutate(SEEDS[name], random.Random(seed), operations)
    _check(workdir, data, name + extension)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_unmutated_seeds_are_kept(workdir, name):
    check = _check(workdir, SEEDS[name], name)
    expected = Status.CONVERTED if name in ("image.tif", "palette.bmp") else Status.OK
    assert check.status == expected


def test_scan_files_on_a_batch_of_mutants_agrees_with_check_file(tmp_path):
    """100 mutants through the threaded, cached `scan_files`: same verdicts as one-by-one, all kept ones decode."""
    rng = random.Random(7)
    paths = []
    for index in range(100):
        name = rng.choice(sorted(SEEDS))
        path = tmp_path / "in" / f"{index:03d}_{name}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_mutate(SEEDS[name], rng, rng.randint(1, 3)))
        paths.append(str(path))
    result = scan_files(paths, max_pixels=MAX_PIXELS, cache_dir=tmp_path / "cache", workers=4, progress=False)
    single = [check_file(p, max_pixels=MAX_PIXELS, conversion_dir=tmp_path / "cache" / "converted") for p in paths]
    assert result.checks == single
    assert 0 < len(result.paths) < len(paths)
    dataset = tf.data.Dataset.from_tensor_slices(result.paths).map(lambda p: decode_image(tf.io.read_file(p), (8, 8)))
    assert sum(1 for _ in dataset) == len(result.paths)  # the whole kept list goes through tf.data without an error


def test_pillow_reads_every_converted_copy_at_its_reported_size(tmp_path):
    rng = random.Random(3)
    converted = 0
    for index in range(200):
        name = rng.choice(("image.tif", "palette.bmp", "rgb.bmp", "animated.gif", "lossy.webp"))
        path = tmp_path / f"{index}_{name}"
        path.write_bytes(_mutate(SEEDS[name], rng, 1))
        check = check_file(path, max_pixels=MAX_PIXELS, conversion_dir=tmp_path / "converted")
        if check.status == Status.CONVERTED:
            converted += 1
            with Image.open(io.BytesIO(Path(check.converted_path).read_bytes())) as copy:
                assert (copy.format, copy.mode, copy.size) == ("PNG", "RGB", (check.width, check.height))
    assert converted >= 20
