"""The HTML report: sections, escaping, self-containment, and what headless Chromium renders of it."""

import base64
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from keras_transfer.evaluation.diagnostics import transfer_warnings
from keras_transfer.evaluation.metrics import compute_metrics
from keras_transfer.evaluation.report import write_report
from keras_transfer.testing.synthetic import make_shapes_arrays

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE_CLASS = '<i>cat</i> & "dog"'
HOSTILE_PATH = "data/<script>alert(1)</script>.jpg"
WARNING_BG = (255, 244, 229)  # the warnings box background, #fff4e5

HISTORY = [
    {"name": "head", "first_epoch": 0, "epochs_run": 2, "best_value": 0.7, "trainable_blocks": [],
     "metrics": {"loss": [1.0, 0.8], "val_loss": [0.9, 0.7], "accuracy": [0.6, 0.7], "val_accuracy": [0.6, 0.72]}},
    {"name": "all", "first_epoch": 2, "epochs_run": 3, "best_value": 0.6, "trainable_blocks": ["b1", "b2"],
     "metrics": {"loss": [0.7, 0.6, 0.5], "val_loss": [0.65, 0.6, 0.62],
                 "accuracy": [0.75, 0.8, 0.82], "val_accuracy": [0.74, 0.76, 0.75]}},
]


class _Collector(HTMLParser):
    """Elements by id, image sources, <body>'s attributes and every tag name seen."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.tags, self.body = {}, [], [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "body":
            self.body = attrs
        if "id" in attrs:
            self.ids[attrs["id"]] = (tag, attrs)
        if tag == "img":
            self.images.append(attrs)


def _parse(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    return collector


@pytest.fixture(scope="module")
def evaluation_and_images():
    x, y, names = make_shapes_arrays(4, 12, 24, seed=5)
    names[0] = HOSTILE_CLASS
    rng = np.random.default_rng(1)
    logits = 2.0 * np.eye(4)[y] + rng.normal(0, 1, (len(y), 4))
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return compute_metrics(y, prob, names), x


@pytest.fixture(scope="module")
def full_report(tmp_path_factory, evaluation_and_images):
    ev, x = evaluation_and_images
    names = ev.class_names
    found = transfer_warnings(0.74, {"linear_probe": {"accuracy": 0.78}}, [("head", 0.72), ("all", 0.76)])
    summary = {
        "train_counts": dict(zip(names, [40, 36, 10, 30])),  # 4x: imbalanced
        "val_counts": dict(zip(names, [12, 12, 12, 12])),
        "skipped": [{"path": HOSTILE_PATH, "reason": "cannot decode: truncated JPEG"},
                    {"path": "data/b.gif", "reason": "animated GIF"}],
        "class_weight": dict(zip(names, [0.8, 0.9, 2.9, 1.1])),
    }
    path = write_report(
        tmp_path_factory.mktemp("report") / "sub" / "report.html",
        evaluation=ev, history=HISTORY, images=x, warnings=found, data_summary=summary,
        config={"backbone": "mobilenetv2", "image_size": [24, 24], "note": "</pre><script>alert(2)</script>"},
        baselines={"linear_probe": {"accuracy": 0.78, "loss": 0.61}, "scratch": {"accuracy": 0.41, "loss": 1.4},
                   "fine_tuned": {"accuracy": 0.74, "loss": 0.66}},
        title="Shapes <run 1>",
    )
    return path, found


def test_report_has_every_section_with_embedded_png_figures(full_report):
    path, _ = full_report
    page = _parse(path.read_text(encoding="utf-8"))
    for element_id in ("warnings", "data-summary", "class-counts", "skipped-files", "config", "training-curves",
                       "stages-table", "metrics-table", "per-class-table", "confusion-matrix", "most-confused",
                       "most-confused-table", "highest-loss", "reliability-diagram", "baselines-table"):
        assert element_id in page.ids, element_id
    assert page.ids["metrics-table"][0] == "table" and page.ids["confusion-matrix"][0] == "img"
    assert len(page.images) == 5  # curves, confusion matrix, pairs, gallery, reliability
    for image in page.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        assert base64.b64decode(image["src"][len(prefix):])[:8] == PNG_SIGNATURE


def test_report_is_self_contained(full_report):
    path, _ = full_report
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert all(src["src"].startswith("data:") for src in page.images)


def test_report_escapes_user_strings(full_report):
    path, _ = full_report
    text = path.read_text(encoding="utf-8")
    assert HOSTILE_CLASS not in text and "&lt;i&gt;cat&lt;/i&gt; &amp; &quot;dog&quot;" in text
    assert "<script>alert(1)" not in text and "data/&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in text
    assert "</pre><script>" not in text
    assert "<title>Shapes &lt;run 1&gt;</title>" in text


def test_report_shows_warnings_imbalance_and_best_baseline(full_report):
    path, found = full_report
    text = path.read_text(encoding="utf-8")
    assert len(found) == 1 and found[0].startswith("Negative transfer")
    warnings_section = text[text.index('id="warnings"'):text.index('id="data-summary"')]
    assert "Warnings (2)" in warnings_section
    assert "Negative transfer: the fine-tuned model&#x27;s accuracy (0.7400)" in warnings_section
    assert "Class imbalance in the training data" in warnings_section and "4.0×" in warnings_section
    assert text.index('id="warnings"') < text.index('id="metrics"')  # shown before everything else
    baselines = text[text.index('id="baselines-table"'):]
    assert '<td class="num best">0.7800</td>' in baselines and '<td class="num best">0.6100</td>' in baselines
    assert "cannot decode: truncated JPEG" in text and "Skipped files (2)" in text
    assert '<td class="num flag">10</td>' in text  # smallest training class highlighted


def test_minimal_report_leaves_out_sections_without_data(tmp_path, evaluation_and_images):
    ev, _ = evaluation_and_images
    path = write_report(tmp_path / "minimal.html", evaluation=ev)
    page = _parse(path.read_text(encoding="utf-8"))
    for absent in ("warnings", "data-summary", "config", "training-curves", "highest-loss", "baselines-table"):
        assert absent not in page.ids, absent
    for present in ("metrics-table", "per-class-table", "confusion-matrix", "reliability-diagram"):
        assert present in page.ids


def test_multi_label_report(tmp_path):
    ev = compute_metrics([[1, 0, 1], [0, 1, 0], [1, 1, 0]], [[0.9, 0.6, 0.7], [0.2, 0.8, 0.1], [0.7, 0.3, 0.4]],
                         ["sky", "sea", "sand"], multi_label=True)
    text = write_report(tmp_path / "ml.html", evaluation=ev).read_text(encoding="utf-8")
    assert "Label co-occurrence and false positives" in text and "subset accuracy" in text
    assert "hamming loss" in text and "above 0.5" in text
    # sample 1 adds a false "sea", sample 3 misses its "sea": 1 of 3 exactly right
    assert "<td>subset accuracy</td><td class=num>0.3333</td>" in text


# --- headless Chromium -----------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
# Records, once the page has loaded, each image's id and decoded size on <body>, so --dump-dom shows them.
IMAGE_PROBE = ("<script>addEventListener('load', () => document.body.setAttribute('data-loaded-images', "
               "[...document.images].map(i => i.id + '=' + i.naturalWidth + 'x' + i.naturalHeight).join(' ')));"
               "</script>")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "Headless Chromium is needed to check the HTML report: apt-get install -y chromium chromium-driver"
    if os.environ.get("KERAS_TRANSFER_ALLOW_NO_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message)


def _run_chromium(browser: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_in_headless_chromium(tmp_path, full_report):
    browser = _chromium()
    path, _ = full_report

    probed = tmp_path / "probed.html"
    probed.write_text(path.read_text(encoding="utf-8").replace("</body>", IMAGE_PROBE + "</body>"), encoding="utf-8")
    dumped = _run_chromium(browser, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _parse(dumped.stdout)
    assert dom.ids["metrics-table"][0] == "table"
    tag, attrs = dom.ids["confusion-matrix"]
    assert tag == "img" and attrs["src"].startswith("data:image/png;base64,")
    assert "data-loaded-images" in dom.body, "the page's load event did not fire"
    sizes = dict(item.split("=") for item in dom.body["data-loaded-images"].split())
    assert set(sizes) >= {"confusion-matrix", "reliability-diagram", "highest-loss", "training-curves-plot"}
    for element_id, size in sizes.items():
        width, height = map(int, size.split("x"))
        assert width > 100 and height > 100, f"{element_id} did not decode in the browser: {size}"

    shot = tmp_path / "report.png"
    taken = _run_chromium(browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", path.as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape == (2000, 1280, 3)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 500 and pixels.std() > 20, "the screenshot looks blank"
    warning_box = np.all(np.abs(pixels.astype(int) - WARNING_BG) <= 2, axis=-1)
    assert warning_box[:800].sum() > 20_000, "the warnings box is not shown near the top of the page"

