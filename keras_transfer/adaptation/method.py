"""`DomainAdaptation`: labelled source images plus unlabeled target images, and an honest word on whether it helped.

`build_and_fit(data, target_data=..., adaptation="dann" | "coral" | "mmd")`
runs this method. On the frozen backbone's cached pooled features of both
domains it trains two classifiers of the same shape (backbone -> pool ->
bottleneck -> head), with the same seed and steps: one with the alignment term
(`AdaptedHead`), one without (source only, the honest baseline). Which is kept:

- with `target_test_data=` (labelled target images): split in two; the
  selection part chooses (source-only kept, with a warning, when adaptation
  hurt), the report part scores both side by side;
- without: the adapted model, unless it loses more than `max_source_drop` of
  source validation accuracy; a warning says the target was not measured.

The record (`FitResult.method_record["domain"]`) holds the target
accuracies, the proxy A-distance of the pooled features and of both
bottlenecks, and their 2-D PCA embeddings, which the report shows.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_transfer.adaptation.adapted_model import bottleneck_head, check_adaptation
from keras_transfer.adaptation.domain_metrics import domain_shift
from keras_transfer.adaptation.selection import (
    ADAPTED,
    SOURCE_ONLY,
    choose_on_source,
    choose_on_target,
    split_target_test,
)
from keras_transfer.adaptation.training import fit_adapted_head
from keras_transfer.data.unlabeled import unlabeled_images
from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.models.classifier import build_model, get_backbone_layer
from keras_transfer.train.feature_cache import extract_features

DEFAULT_EPOCHS = 20


@register_method
class DomainAdaptation(TransferMethod):
    """DANN, Deep CORAL or multi-kernel MMD on a trainable bottleneck over the frozen backbone's features.

    Options:
        bottleneck: width of the bottleneck Dense layer whose features are aligned (the config's
            `hidden_units` when given).
        epochs: passes over the source (default: the config's `epochs`, else 20).
        learning_rate: AdamW's learning rate.
        loss_weight: weight of the alignment (or domain) loss.
        warmup_gamma: speed of DANN's warm-up of the scheduled weight, 2/(1+exp(-gamma p))-1 (None: none).
        selection_share: share of `target_test_data` that chooses; the rest reports.
        max_source_drop: without target labels, the source validation accuracy adaptation may cost.

    Example:
        >>> build_and_fit(mnist, target_data=scanner_b_images, adaptation="dann", target_test_data=few_labelled)
    """

    name = "domain_adaptation"
    extra_data = ("target_data",)
    needs_pretrained = True
    uses_features = True
    combines_with = frozenset({"linear_probe"})
    option_defaults = {"bottleneck": 256, "epochs": None, "learning_rate": 1e-3, "loss_weight": 1.0,
                       "warmup_gamma": 10.0, "selection_share": 0.5, "max_source_drop": 0.05}

    def check(self, context) -> None:
        super().check(context)
        if check_adaptation(context.config.get("adaptation")) is None:
            raise ValueError("Method 'domain_adaptation' needs adaptation=: 'dann', 'coral' or 'mmd'.")
        if context.train_spec.multi_label:
            raise ValueError("Domain adaptation supports single-label classification only; this data is "
                             "multi-label.")

    def fit(self, context) -> MethodResult:
        config, options = context.config, self.options
        adaptation = config.get("adaptation")
        source = context.clean_features()
        _, validation = context.features()
        if "target_data" not in context.extra_specs:  # unlabeled: not `load_extra`, which reads labels
            context.extra_specs["target_data"] = unlabeled_images(
                config.get("target_data"), context.train_spec.class_names, option="target_data",
                scan=config.data.scan, strict=config.data.strict, max_pixels=config.data.max_pixels)
        target_spec = context.extra_specs["target_data"]
        target, _ = extract_features(context.model, target_spec, context.image_size, context.batch_size)
        settings = {"epochs": options["epochs"] or config.training.epochs or DEFAULT_EPOCHS,
                    "learning_rate": options["learning_rate"], "batch_size": context.batch_size,
                    "loss_weight": options["loss_weight"], "warmup_gamma": options["warmup_gamma"],
                    "seed": context.seed, "verbose": context.verbose}
        classifiers, history = {}, []
        for role, method in ((SOURCE_ONLY, None), (ADAPTED, adaptation)):
            classifiers[role] = self.bottleneck_classifier(context)
            loss, metrics = context.loss_and_metrics()
            history.append(fit_adapted_head(classifiers[role], source, target, method, loss=loss, metrics=metrics,
                                            validation=validation, **settings))
        source_accuracy = {role: features_accuracy(model, *validation) if validation is not None else None
                           for role, model in classifiers.items()}
        record = {"adaptation": adaptation, "target_images": len(target_spec), "source_validation_accuracy":
                  source_accuracy, "monitor": "source validation (scored per epoch; the last epoch is kept)",
                  "backbone_stages": "not run: the alignment trains the bottleneck and head on cached frozen features"}
        if config.get("target_test_data") is not None:
            target_accuracy = self.target_accuracy(context, classifiers)
            choice = choose_on_target(target_accuracy[ADAPTED]["selection"], target_accuracy[SOURCE_ONLY]["selection"],
                                      adaptation)
            record["target_accuracy"] = target_accuracy
        else:
            choice = choose_on_source(source_accuracy[ADAPTED], source_accuracy[SOURCE_ONLY], adaptation,
                                      options["max_source_drop"])
        record.update(kept=choice.kept, criterion=choice.criterion,
                      shift=self.shifts(classifiers, source[0], target, context.seed))
        context.log.info(f"Domain adaptation ({adaptation}): kept the {choice.kept} model ({choice.criterion}).")
        return MethodResult(classifiers[choice.kept], history=history, warnings=choice.warnings,
                            record={"domain": record, "bottleneck": self.bottleneck_width(context)})

    def bottleneck_width(self, context) -> int:
        """The bottleneck's width: the config's `hidden_units`, else the `bottleneck` option."""
        return int(context.config.model.hidden_units or self.options["bottleneck"])

    def bottleneck_classifier(self, context) -> keras.Model:
        """A plain classifier with a bottleneck layer, its backbone a copy of the run's pretrained one."""
        model_config = context.config.model
        with context.scope():
            classifier = build_model(context.backbone, context.train_spec.num_classes, weights=None,
                                     image_size=context.image_size, dropout=model_config.dropout,
                                     hidden_units=self.bottleneck_width(context))
        get_backbone_layer(classifier).set_weights(get_backbone_layer(context.model).get_weights())
        return classifier

    def target_accuracy(self, context, classifiers: dict) -> dict:
        """Each model's accuracy on the selection and report parts of the labelled target test data."""
        spec = context.load_extra("target_test_data")
        parts = dict(zip(("selection", "report"), split_target_test(spec, self.options["selection_share"],
                                                                     context.seed)))
        features = {part: extract_features(context.model, part_spec, context.image_size, context.batch_size)
                    for part, part_spec in parts.items()}
        table = {role: {part: features_accuracy(model, *features[part]) for part in parts}
                 for role, model in classifiers.items()}
        for role in table:
            table[role]["images"] = {part: len(part_spec) for part, part_spec in parts.items()}
        return table

    @staticmethod
    def shifts(classifiers: dict, source: np.ndarray, target: np.ndarray, seed: int) -> dict:
        """The A-distance and PCA embedding of the pooled features and of each model's bottleneck."""
        shifts = {"pooled backbone features": domain_shift(source, target, seed)}
        for role, model in classifiers.items():
            shifts[f"{role} bottleneck"] = domain_shift(head_outputs(model, source)[0], head_outputs(model, target)[0],
                                                        seed)
        return shifts


def features_accuracy(classifier: keras.Model, features: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of `classifier`'s head on pooled features (labels one-hot or class ids).

    Example:
        >>> features_accuracy(model, validation_features, validation_labels)
    """
    probabilities = head_outputs(classifier, features)[1]
    truth = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
    return float(np.mean(probabilities.argmax(axis=1) == truth))


def adaptation_config(config):
    """The config a run with `adaptation=` trains under: the default method becomes `"domain_adaptation"`.

    Args:
        config: the run's `FitConfig`.

    Returns:
        The config (changed only when `adaptation=` is given with the default method).

    Raises:
        ValueError: an unknown adaptation, `target_data=` without `adaptation=`, or `adaptation=` with
            another method.

    Example:
        >>> adaptation_config(FitConfig.from_arguments(data=x, target_data=t, adaptation="dann")).training.method
        'domain_adaptation'
    """
    training = config.training
    method = training.method if isinstance(training.method, str) else getattr(training.method, "name", "")
    adaptation = check_adaptation(training.adaptation)
    if adaptation is None:
        if config.data.target_data is not None and method != DomainAdaptation.name:
            raise ValueError("target_data= is read by domain adaptation: give adaptation='dann', 'coral' or 'mmd' "
                             "with it.")
        return config
    if method == "fine_tune":
        return config.replace(method=DomainAdaptation.name)
    if method != DomainAdaptation.name:
        raise ValueError(f"adaptation={adaptation!r} runs method 'domain_adaptation', not {method!r}: leave method= "
                         "at its default or set it to 'domain_adaptation'.")
    return config


def head_outputs(classifier: keras.Model, features: np.ndarray,
                 batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """`(bottleneck features, probabilities)` of `classifier`'s head on pooled features, in inference mode.

    Called eagerly in large batches: a few matrix products, with no `predict` function to trace.

    Example:
        >>> bottleneck, probabilities = head_outputs(model, features)
    """
    head = bottleneck_head(classifier)
    parts = [head(features[start:start + batch_size], training=False) for start in range(0, len(features), batch_size)]
    return (np.concatenate([np.asarray(part[0]) for part in parts]),
            np.concatenate([np.asarray(part[1]) for part in parts]))
