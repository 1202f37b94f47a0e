"""Every plot renders on small data, shows what it should, and writes its PNG."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

from keras_transfer.evaluation import plots
from keras_transfer.evaluation.metrics import compute_metrics
from keras_transfer.testing.synthetic import make_shapes_arrays

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HISTORY = [
    {"name": "head", "first_epoch": 0, "epochs_run": 3,
     "metrics": {"loss": [1.2, 0.9, 0.8], "val_loss": [1.1, 0.95, 0.9],
                 "accuracy": [0.5, 0.6, 0.7], "val_accuracy": [0.5, 0.55, 0.65]}},
    {"name": "top_blocks", "first_epoch": 3, "epochs_run": 4,
     "metrics": {"loss": [0.7, 0.6, 0.5, 0.45], "val_loss": [0.85, 0.8, 0.78, 0.79],
                 "accuracy": [0.72, 0.78, 0.8, 0.83], "val_accuracy": [0.68, 0.7, 0.72, 0.71]}},
    {"name": "all", "first_epoch": 7, "epochs_run": 2,
     "metrics": {"loss": [0.4, 0.35], "val_loss": [0.77, 0.76],
                 "accuracy": [0.85, 0.87], "val_accuracy": [0.73, 0.74]}},
]


@pytest.fixture(scope="module")
def shapes_evaluation():
    """A 4-class evaluation of noisy but mostly right probabilities, with its images."""
    x, y, names = make_shapes_arrays(4, 10, 24, seed=3)
    rng = np.random.default_rng(0)
    logits = 2.0 * np.eye(4)[y] + rng.normal(0, 1, (len(y), 4))
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return compute_metrics(y, prob, names), x


def _is_png(path) -> bool:
    return path.exists() and path.read_bytes()[:8] == PNG_SIGNATURE


def test_history_marks_and_names_every_stage_boundary(tmp_path):
    fig = plots.plot_history(HISTORY, path=tmp_path / "curves" / "history.png")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax in axes:
        boundaries = [line for line in ax.lines if line.get_gid() == plots.STAGE_BOUNDARY_GID]
        assert sorted(line.get_xdata()[0] for line in boundaries) == [3.5, 7.5]  # between epochs 3|4 and 7|8
        labels = [text.get_text() for text in ax.texts if text.get_gid() == plots.STAGE_LABEL_GID]
        assert labels == ["head", "top_blocks", "all"]
        assert ax.get_xlim() == (0.5, 9.5)
    # train and val curves are plotted at the global, 1-based epochs
    loss_ax = axes[0]
    val_lines = [line for line in loss_ax.lines if line.get_linestyle() == "--" and line.get_gid() is None]
    np.testing.assert_array_equal(np.concatenate([line.get_xdata() for line in val_lines]), np.arange(1, 10))
    np.testing.assert_allclose(val_lines[1].get_ydata(), [0.85, 0.8, 0.78, 0.79])
    assert _is_png(tmp_path / "curves" / "history.png")


def test_history_accepts_a_keras_style_dict_and_a_learning_rate_panel():
    fig = plots.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "learning_rate": [1e-3, 1e-4]})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "learning rate"]
    assert axes[1].get_yscale() == "log"
    assert not [line for line in axes[0].lines if line.get_gid() == plots.STAGE_BOUNDARY_GID]  # a single stage
    with pytest.raises(ValueError, match="no metrics"):
        plots.plot_history([{"name": "head", "metrics": {}}])


def test_normalize_history_fills_in_first_epochs_and_counts():
    stages = plots.normalize_history([{"name": "a", "metrics": {"loss": [1, 2]}}, {"metrics": {"loss": [3]}}])
    assert [(s["name"], s["first_epoch"], s["epochs_run"]) for s in stages] == [("a", 0, 2), ("stage 2", 2, 1)]


def test_confusion_matrix_heatmap_is_row_normalised(tmp_path, shapes_evaluation):
    ev, _ = shapes_evaluation
    fig = plots.plot_confusion_matrix(ev, path=tmp_path / "cm.png")
    ax = fig.axes[0]
    (image,) = [artist for artist in ax.get_children() if isinstance(artist, AxesImage)]
    expected = ev.confusion_matrix / ev.confusion_matrix.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(image.get_array(), expected)
    assert [label.get_text() for label in ax.get_yticklabels()] == ev.class_names
    assert len(ax.texts) == 16  # one annotation per cell
    assert _is_png(tmp_path / "cm.png")


def test_confusion_matrix_of_a_class_without_samples_has_no_nan():
    ev = compute_metrics([0, 0, 1], [[0.9, 0.05, 0.05], [0.2, 0.1, 0.7], [0.1, 0.8, 0.1]], ["a", "b", "c"])
    fig = plots.plot_confusion_matrix(ev, normalize=True)
    data = np.asarray(fig.axes[0].images[0].get_array())
    assert not np.isnan(data).any()
    np.testing.assert_allclose(data, [[0.5, 0, 0.5], [0, 1, 0], [0, 0, 0]])


def test_most_confused_bars_match_the_pairs(tmp_path, shapes_evaluation):
    ev, _ = shapes_evaluation
    pairs = ev.most_confused(5)
    fig = plots.plot_most_confused(ev, n=5, path=tmp_path / "pairs.png")
    ax = fig.axes[0]
    bars = [patch for patch in ax.patches if isinstance(patch, Rectangle)]
    assert [bar.get_width() for bar in bars] == [p["count"] for p in pairs][::-1]  # largest at the top
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels[-1] == f"{pairs[0]['true']} → {pairs[0]['predicted']}"
    assert _is_png(tmp_path / "pairs.png")


def test_most_confused_without_mistakes_says_so():
    ev = compute_metrics([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    fig = plots.plot_most_confused(ev)
    assert "No confusions" in fig.axes[0].texts[0].get_text()


def test_highest_loss_gallery_shows_the_worst_images_with_captions(tmp_path, shapes_evaluation):
    ev, x = shapes_evaluation
    fig = plots.plot_highest_loss(ev, x, n=5, columns=3, path=tmp_path / "gallery.png")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 5
    worst = ev.highest_loss(5)
    for ax, index in zip(shown, worst):
        np.testing.assert_array_equal(ax.images[0].get_array(), x[index])
        title = ax.get_title(loc="left")
        true, pred = ev.class_names[ev.y_true[index]], ev.class_names[ev.y_pred[index]]
        assert f"true: {true} ({ev.y_prob[index, ev.y_true[index]]:.2f})" in title
        assert f"pred: {pred}" in title and f"loss {ev.losses[index]:.2f}" in title
        wrong = ev.y_true[index] != ev.y_pred[index]
        (caption,) = [t for t in ax.get_children() if isinstance(t, Text) and t.get_text() == title]
        assert caption.get_color() == ("#d62728" if wrong else "#2ca02c")
    assert _is_png(tmp_path / "gallery.png")


def test_highest_loss_gallery_uses_kept_images_or_explains_what_is_missing(shapes_evaluation):
    ev, x = shapes_evaluation
    with pytest.raises(ValueError, match="No images"):
        plots.plot_highest_loss(ev)
    with pytest.raises(ValueError, match="aligned|order they were evaluated"):
        plots.plot_highest_loss(ev, x[:3])
    kept = compute_metrics(ev.y_true, ev.y_prob, ev.class_names)
    kept.hardest_indices = ev.highest_loss(4)
    kept.hardest_images = x[kept.hardest_indices]
    fig = plots.plot_highest_loss(kept, n=4)
    assert sum(ax.get_visible() for ax in fig.axes) == 4


def test_highest_loss_gallery_for_multi_label():
    images = np.zeros((2, 8, 8, 3), dtype="float32") + 200.0  # float pixels in 0-255 are rescaled for display
    ev = compute_metrics([[1, 0], [1, 1]], [[0.9, 0.2], [0.7, 0.3]], ["sky", "sea"], multi_label=True)
    fig = plots.plot_highest_loss(ev, images, n=2)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert titles[0].startswith("true: sky, sea\npred: sky")
    assert fig.axes[0].images[0].get_array().max() <= 1.0


def test_reliability_diagram_bars_follow_the_bins(tmp_path, shapes_evaluation):
    ev, _ = shapes_evaluation
    fig = plots.plot_reliability(ev, path=tmp_path / "reliability.png")
    top, bottom = fig.axes
    assert f"ECE {ev.ece:.3f}" in top.get_title()
    heights = [patch.get_height() for patch in bottom.patches]
    np.testing.assert_array_equal(heights, ev.calibration["count"])
    observed = [patch.get_height() for patch in top.containers[0]]
    np.testing.assert_allclose(observed, np.nan_to_num(ev.calibration["accuracy"]))
    assert _is_png(tmp_path / "reliability.png")


def test_figure_to_png_and_save_figure(tmp_path, shapes_evaluation):
    ev, _ = shapes_evaluation
    fig = plots.plot_reliability(ev)
    assert isinstance(fig, Figure)
    data = plots.figure_to_png(fig, dpi=50)
    assert data[:8] == PNG_SIGNATURE
    path = plots.save_figure(fig, tmp_path / "a" / "b" / "r.png", dpi=50)
    with Image.open(path) as image:
        assert image.size[0] > 100 and image.size[1] > 100
