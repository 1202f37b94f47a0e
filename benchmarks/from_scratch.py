"""From scratch, every family learns: build_and_fit(weights=None) on the synthetic shapes, smallest member each.

The honest-baseline issue: the scratch baseline is our answer to "did transfer
help?", so a from-scratch run must learn. Each backbone trains with the
from-scratch recipe (one all-trainable stage, precise BatchNorm) on 120
coloured-shape images (3 classes, 40 each; 96 train / 24 validation) at
max(64, the backbone's minimum size), and prints its validation accuracy and
wall time, beside the same run without precise BatchNorm for the backbones
that have BatchNorm.

Usage:
    python benchmarks/from_scratch.py                    # every family: about half an hour on 2 CPU cores
    python benchmarks/from_scratch.py --only mobilenetv3small resnet50
    python benchmarks/from_scratch.py --smoke            # seconds: checks the script works
"""

from __future__ import annotations

import json
import tempfile
import time

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested

# The smallest member of every keras.applications family, plus MobileNetV2 and EfficientNetB0.
FAMILIES = {
    "ConvNeXt": "convnexttiny", "DenseNet": "densenet121", "EfficientNet": "efficientnetb0",
    "EfficientNetV2": "efficientnetv2b0", "Inception": "inceptionv3", "MobileNet": "mobilenet",
    "MobileNetV2": "mobilenetv2", "MobileNetV3": "mobilenetv3small", "NASNet": "nasnetmobile",
    "ResNet": "resnet50", "ResNetV2": "resnet50v2", "VGG": "vgg16", "Xception": "xception",
}
GOAL = 0.9


def run(backbone: str, folder: str, size: int, epochs: int | None, precise: bool) -> dict:
    """One from-scratch run; returns its accuracy, epochs and seconds."""
    import keras_transfer

    started = time.perf_counter()
    result = keras_transfer.build_and_fit(folder, backbone=backbone, weights=None, image_size=size, epochs=epochs,
                                          precise_batchnorm=precise, seed=0, verbose=0)
    seconds = time.perf_counter() - started
    stage = result.history[0]
    return {"accuracy": float(result.metrics["accuracy"]), "epochs_run": stage["epochs_run"],
            "best_epoch": stage["best_epoch"] + 1, "seconds": seconds}


def has_batchnorm(backbone: str, size: int) -> bool:
    import keras

    from keras_transfer.models.backbones import get_backbone

    model = get_backbone(backbone).build(size, None)
    found = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())
    keras.backend.clear_session()
    return found


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="backbone registry names (default: every family)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the from-scratch stage (default 20)")
    parser.add_argument("--no-control", action="store_true", help="skip the runs without precise BatchNorm")
    args = parser.parse_args()
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    from keras_transfer.models.backbones import get_backbone
    from keras_transfer.testing.synthetic import write_shapes_folder

    backbones = args.only or (["mobilenetv3small"] if smoke else list(FAMILIES.values()))
    epochs = 1 if smoke else args.epochs
    rows = []
    for backbone in backbones:
        size = 32 if smoke else max(64, get_backbone(backbone).min_size)
        folder = tempfile.mkdtemp(prefix="shapes-")
        write_shapes_folder(folder, num_classes=3, per_class=8 if smoke else 40, image_size=size, seed=0)
        row = {"backbone": backbone, "size": size, **run(backbone, folder, size, epochs, precise=True)}
        if not (args.no_control or smoke) and has_batchnorm(backbone, size):
            control = run(backbone, folder, size, epochs, precise=False)
            row["without_precise_bn"] = round(control["accuracy"], 3)
        rows.append(row)
        met = "met" if row["accuracy"] >= GOAL else "MISSED"
        print(f"{backbone:>18} at {size} px: val accuracy {row['accuracy']:.3f} ({met} {GOAL}), "
              f"{row['epochs_run']} epochs (best {row['best_epoch']}), {row['seconds']:.0f} s"
              + (f"; without precise BatchNorm {row['without_precise_bn']:.3f}" if "without_precise_bn" in row
                 else ""), flush=True)
    print("JSON " + json.dumps(rows), flush=True)
    reached = sum(row["accuracy"] >= GOAL for row in rows)
    print_ratio("from_scratch_backbones_reaching_0.9_share", reached / len(rows), ">= 1.0 (every family)",
                reached == len(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
