"""`DomainAdaptation`: labelled source images plus unlabeled target images, and an honest word on whether it helped.

`build_and_fit(data, target_data=..., adaptation="dann" | "coral" | "mmd" | "mcc")`
runs this method. It trains two classifiers of the same shape (backbone ->
pool -> bottleneck -> head), with the same seed and steps: one with the
alignment term (`AdaptedHead`), one without (source only, the honest
baseline). Each is trained in two steps: the bottleneck and head on the frozen
backbone's cached pooled features of both domains, then the plan's stages that
train backbone blocks (the default plan's `top_blocks` and `all`), on images of
both domains, under the same alignment term; each stage keeps its best epoch
on the source validation data and the best stage is kept, as in any
fine-tuning run. Which model is kept:

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

from keras_transfer.adaptation.adapted_model import bottleneck_head, check_adaptation, new_domain_head
from keras_transfer.adaptation.domain_metrics import domain_shift
from keras_transfer.adaptation.selection import (
    ADAPTED,
    SOURCE_ONLY,
    choose_on_source,
    choose_on_target,
    split_target_test,
)
from keras_transfer.adaptation.training import fit_adapted_head, fit_adapted_stages
from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.unlabeled import unlabeled_images
from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.models.classifier import build_model, get_backbone_layer
from keras_transfer.train.feature_cache import extract_features

DEFAULT_EPOCHS = 20


@register_method
class DomainAdaptation(TransferMethod):
    """DANN, Deep CORAL or multi-kernel MMD on a trainable bottleneck after the pooled backbone.

    Options:
        bottleneck: width of the bottleneck Dense layer whose features are aligned (the config's
            `hidden_units` when given).
        epochs: passes over the source of the head step on cached features (default: the config's `epochs`,
            else 20).
        learning_rate: AdamW's learning rate of the head step.
        backbone_stages: run the plan's stages that train backbone blocks under the alignment term (True), or
            stop after the head step (False: only the bottleneck and head move, the backbone stays as loaded).
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
                       "backbone_stages": True, "warmup_gamma": 10.0, "selection_share": 0.5, "max_source_drop": 0.05}

    def check(self, context) -> None:
        super().check(context)
        if check_adaptation(context.config.get("adaptation")) is None:
            raise ValueError("Method 'domain_adaptation' needs adaptation=: 'dann', 'coral', 'mmd' or 'mcc'.")
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
        stages = self.backbone_stages(context)
        target_images = decoded_images(target_spec, context.image_size, cache=config.data.cache) if stages else None
        target, _ = extract_features(context.model, target_spec, context.image_size, context.batch_size,
                                     decoded=target_images)
        settings = {"epochs": options["epochs"] or config.training.epochs or DEFAULT_EPOCHS,
                    "learning_rate": options["learning_rate"], "batch_size": context.batch_size,
                    "loss_weight": options["loss_weight"], "warmup_gamma": options["warmup_gamma"],
                    "seed": context.seed, "verbose": context.verbose}
        classifiers, history, kept_stages, warnings = {}, [], {}, []
        for role, method in ((SOURCE_ONLY, None), (ADAPTED, adaptation)):
            classifiers[role] = self.bottleneck_classifier(context)
            domain_head = new_domain_head(seed=context.seed) if method == "dann" else None
            loss, metrics = context.loss_and_metrics()
            head_record = fit_adapted_head(classifiers[role], source, target, method, loss=loss, metrics=metrics,
                                           validation=validation, domain_head=domain_head, **settings)
            history.append(head_record)
            kept_stages[role] = head_record["name"]
            if stages:
                staged = self.fit_backbone_stages(context, classifiers[role], stages, target_spec, target_images,
                                                  method, head_record, domain_head)
                history += staged.stage_history
                kept_stages[role] = staged.kept_stage
                warnings += staged.warnings
        views = FeatureViews(context, classifiers, trained_backbone=bool(stages))
        source_accuracy = {role: features_accuracy(model, *views.validation(role))
                           if context.validation_spec is not None else None for role, model in classifiers.items()}
        record = {"adaptation": adaptation, "target_images": len(target_spec), "source_validation_accuracy":
                  source_accuracy, "monitor": self.monitor_text(context, stages),
                  "backbone_stages": [stage.name for stage in stages] if stages else
                  "not run: " + ("backbone_stages=False" if not options["backbone_stages"] else
                                 "the plan has no stage that trains backbone blocks"),
                  "kept_stage": kept_stages}
        if config.get("target_test_data") is not None:
            target_accuracy = self.target_accuracy(context, classifiers, views)
            choice = choose_on_target(target_accuracy[ADAPTED]["selection"], target_accuracy[SOURCE_ONLY]["selection"],
                                      adaptation)
            record["target_accuracy"] = target_accuracy
        else:
            choice = choose_on_source(source_accuracy[ADAPTED], source_accuracy[SOURCE_ONLY], adaptation,
                                      options["max_source_drop"])
        record.update(kept=choice.kept, criterion=choice.criterion,
                      shift=self.shifts(classifiers, views, source[0], target, target_spec, target_images,
                                        context.seed))
        context.log.info(f"Domain adaptation ({adaptation}): kept the {choice.kept} model ({choice.criterion}).")
        return MethodResult(classifiers[choice.kept], history=history, kept_stage=kept_stages[choice.kept],
                            warnings=warnings + choice.warnings,
                            record={"domain": record, "bottleneck": self.bottleneck_width(context)})

    def backbone_stages(self, context) -> list:
        """The plan's stages that train backbone blocks, run under the alignment term ([] when switched off)."""
        if not self.options["backbone_stages"]:
            return []
        return [stage for stage in context.plan if stage.trains_backbone]

    @staticmethod
    def monitor_text(context, stages: list) -> str:
        """What the run watches, in words, for the record."""
        if not stages:
            return "source validation (scored per epoch; the last epoch is kept)"
        watched = "source validation" if context.validation_spec is not None else "source training"
        return (f"head step: {watched} (scored per epoch; the last epoch kept); backbone stages: {context.monitor} "
                f"on the {watched} data (each stage's best epoch, and the best stage, kept)")

    @staticmethod
    def fit_backbone_stages(context, classifier, stages, target_spec, target_images, adaptation, head_record,
                            domain_head):
        """The backbone stages of one model on images of both domains; their records named after the model."""
        target = make_dataset(target_spec, context.image_size, context.batch_size, training=True,
                              augmentation=context.augmentation, seed=context.seed + 1, decoded=target_images
                              ).map(lambda images, _labels: images)
        monitored = head_record["metrics"].get(context.monitor)
        loss, metrics = context.loss_and_metrics()
        staged = fit_adapted_stages(
            classifier, stages, context.backbone.blocks(get_backbone_layer(classifier)), context.train_dataset,
            target, adaptation, loss=loss, metrics=metrics, validation=context.validation_dataset,
            monitor=context.monitor, loss_weight=head_record["loss_weight"], freeze_batchnorm=context.pretrained,
            previous_best=(head_record["name"], monitored[-1]) if monitored else None, seed=context.seed,
            verbose=context.verbose, domain_head=domain_head)
        for record in staged.stage_history:
            record["name"] = f"{head_record['name']}:{record['name']}"
            record["first_epoch"] += head_record["epochs_run"]
        kept = staged.kept_stage or stages[-1].name  # None: no stage had a value; the last one's weights stay
        if kept != head_record["name"]:
            staged.kept_stage = f"{head_record['name']}:{kept}"
        return staged

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

    def target_accuracy(self, context, classifiers: dict, views: FeatureViews) -> dict:
        """Each model's accuracy on the selection and report parts of the labelled target test data."""
        spec = context.load_extra("target_test_data")
        parts = dict(zip(("selection", "report"), split_target_test(spec, self.options["selection_share"],
                                                                     context.seed)))
        table = {role: {part: features_accuracy(model, *views.features(role, part_spec))
                        for part, part_spec in parts.items()}
                 for role, model in classifiers.items()}
        for role in table:
            table[role]["images"] = {part: len(part_spec) for part, part_spec in parts.items()}
        return table

    @staticmethod
    def shifts(classifiers: dict, views: FeatureViews, source: np.ndarray, target: np.ndarray, target_spec,
               target_images, seed: int) -> dict:
        """The A-distance and PCA embedding of the pooled features and of each model's bottleneck.

        Each model's bottleneck is read through its own backbone (changed by the backbone stages, if they ran).
        """
        shifts = {"pooled backbone features": domain_shift(source, target, seed)}
        for role, model in classifiers.items():
            role_source = views.train(role) if views.trained_backbone else source
            role_target = views.features(role, target_spec, target_images)[0] if views.trained_backbone else target
            shifts[f"{role} bottleneck"] = domain_shift(head_outputs(model, role_source)[0],
                                                        head_outputs(model, role_target)[0], seed)
        return shifts


class FeatureViews:
    """Pooled features of a data set as each trained model sees them, extracted once per model and data set.

    While the backbone stays as loaded (no backbone stage ran), every model reads the run's shared features of
    the pretrained backbone; after backbone stages, each model's own backbone extracts them.

    Args:
        context: the run's `RunContext`.
        classifiers: `{role: classifier}`.
        trained_backbone: whether backbone stages changed the models' backbones.
    """

    def __init__(self, context, classifiers: dict, trained_backbone: bool):
        self.context, self.classifiers, self.trained_backbone = context, classifiers, trained_backbone
        self._cache: dict = {}

    def features(self, role: str, spec, decoded=None) -> tuple[np.ndarray, np.ndarray]:
        """`(pooled features, labels)` of `spec`'s images through `role`'s backbone (the shared one if untrained)."""
        key = (role if self.trained_backbone else "shared", id(spec))
        if key not in self._cache:
            model = self.classifiers[role] if self.trained_backbone else self.context.model
            self._cache[key] = extract_features(model, spec, self.context.image_size, self.context.batch_size,
                                                decoded=decoded)
        return self._cache[key]

    def validation(self, role: str) -> tuple[np.ndarray, np.ndarray]:
        """The source validation features and labels for `role`."""
        if not self.trained_backbone:
            return self.context.features()[1]
        return self.features(role, self.context.validation_spec, self.context.validation_images)

    def train(self, role: str) -> np.ndarray:
        """The clean source training features for `role`."""
        if not self.trained_backbone:
            return self.context.clean_features()[0]
        return self.features(role, self.context.train_spec, self.context.train_images)[0]


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
            raise ValueError("target_data= is read by domain adaptation: give adaptation='dann', 'coral', 'mmd' or "
                             "'mcc' with it.")
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
