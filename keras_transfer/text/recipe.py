"""The text recipe: `build_and_fit` on texts, through the same stages, comparison and result as images.

    texts      = load_text_data(config)              CSV / DataFrame / lists / tf.data -> TextSpec (+ split)
    encoder    = load_encoder(backbone)              KerasHub preset name or folder; pooling as trained
    length     = choose_sequence_length(...)         from the training texts' token lengths, capped by the preset
    checks     = check_texts(...)                    empty, duplicate, truncated, undecodable texts
    context    = TextRunContext(...)                 tokens once; the classifier; the datasets
    outcomes   = tfidf baseline, then fine_tune      the head on cached pooled features, then the blocks
    verdict    = compare(...)                        the negative-transfer rule; the better model kept
    return TextFitResult(...)
"""

from __future__ import annotations

import time

import keras

from keras_transfer.log import Log
from keras_transfer.methods.base import resolve_method
from keras_transfer.recipes.build_and_fit import MAIN, compare, extract_shared_features, make_result, timed
from keras_transfer.recipes.config import FitConfig
from keras_transfer.text.baseline import TfidfLogisticRegression
from keras_transfer.text.blocks import TextBackboneSpec
from keras_transfer.text.checks import check_texts, check_warnings, drop_empty
from keras_transfer.text.context import TextRunContext
from keras_transfer.text.encoders import choose_sequence_length, is_text_preset, load_encoder
from keras_transfer.text.inputs import tokenize
from keras_transfer.text.result import TextFitResult
from keras_transfer.text.sources import load_text_data
from keras_transfer.train import resolve_class_weight, resolve_stages
from keras_transfer.train.precision import resolve_precision

TEXT_METHODS = ("fine_tune",)
TEXT_BASELINES = ("tfidf",)


def is_text_run(config: FitConfig) -> bool:
    """A text run: `text_column` is given, or the backbone is a text preset (a local folder with a tokenizer,
    or a `hf://`/`kaggle://` handle)."""
    return config.data.text_column is not None or is_text_preset(config.model.backbone)


def fit_text(config: FitConfig) -> TextFitResult:
    """Runs the text recipe for a `FitConfig` (what `build_and_fit` calls for a text run).

    Args:
        config: the run's settings (`backbone`: a KerasHub preset name or folder).

    Returns:
        A `TextFitResult`.

    Raises:
        ValueError: no data, a missing column, empty data, or an option text runs do not support.

    Example:
        >>> fit_text(FitConfig.from_arguments(data="reviews.csv", backbone=minilm, text_column="text"))
    """
    started = time.perf_counter()
    log = Log(config.runtime.verbose)
    keras.utils.set_random_seed(config.runtime.seed)
    check_text_config(config)
    method = resolve_method(config.training.method, config.training.method_options)
    context = prepare_text_run(config, method, log)
    context.timings["build"] = time.perf_counter() - started
    method.check(context)
    extract_shared_features(context, [method])
    outcomes = {"tfidf": timed(context, "tfidf", TfidfLogisticRegression())}
    outcomes[MAIN] = timed(context, "fit", method)
    verdict = compare(context, outcomes)
    verdict.warnings[:0] = check_warnings(context.text_checks)
    context.timings["total"] = time.perf_counter() - started
    result = make_result(context, method, outcomes, verdict, result_class=TextFitResult)
    result.data_summary["text_checks"] = context.text_checks
    result.preprocessor = context.preprocessor
    return result


def check_text_config(config: FitConfig) -> None:
    """Clear errors for what a text run cannot do, before anything loads."""
    if config.data.data is None:
        raise ValueError("build_and_fit needs data=: a CSV path, a DataFrame, (texts, labels) or a tf.data.Dataset "
                         "of (string, label).")
    if config.training.method not in TEXT_METHODS:
        raise ValueError(f"Text runs support method={list(TEXT_METHODS)} (staged fine-tuning, with peft= for "
                         f"LoRA/BitFit); got {config.training.method!r}.")
    unknown = [name for name in config.training.baselines if name not in TEXT_BASELINES]
    if unknown:
        raise ValueError(f"Text runs compare with the TF-IDF + logistic regression baseline (always scored); the "
                         f"baselines {unknown} are image baselines. Drop baselines=.")
    if config.data.validation_data is None and not config.data.validation_split:
        raise ValueError("A text run scores the fine-tuned encoder against TF-IDF on validation texts: give "
                         "validation_data or validation_split > 0.")


def prepare_text_run(config: FitConfig, method, log: Log) -> TextRunContext:
    """Loads and checks the texts, loads the encoder, chooses the sequence length, tokenizes, builds the model.

    Returns:
        The `TextRunContext` (its `config` the resolved one).
    """
    data, runtime = config.data, config.runtime
    train, validation = load_text_data(data.data, text_column=data.text_column, label_column=data.label_column,
                                       label_delimiter=data.label_delimiter, validation_data=data.validation_data,
                                       validation_split=data.validation_split, class_names=data.class_names,
                                       seed=runtime.seed)
    train, empty_train = drop_empty(train, "training")
    empty = {"training": empty_train}
    if validation is not None:
        validation, empty["validation"] = drop_empty(validation, "validation")
    pretrained = config.model.weights is not None
    encoder = load_encoder(config.model.backbone, pretrained=pretrained, pooling=config.model.pooling)
    lengths = encoder.token_lengths(list(train.texts))
    length = choose_sequence_length(lengths, encoder.max_sequence_length, config.model.sequence_length)
    log.info(f"Text run: {len(train)} training texts, sequence length {length} tokens, pooling {encoder.pooling}.")
    plan = resolve_stages(config.training.stages, pretrained, config.training.epochs, peft=config.training.peft)
    monitor = config.training.monitor
    if validation is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    # The probe's warm start folds a regression on standardised features into the head: for mean-pooled
    # sentence features (std ~0.05) that kernel is ~20x a trained head's, and the first encoder updates blow the
    # logits up (loss 1.2 -> 593 -> NaN on Rotten Tomatoes, every seed). Text heads start at random.
    head_init = None if config.training.head_init == "linear_probe" else config.training.head_init
    if config.training.head_init == "linear_probe":
        log.info("Text run: the head starts at random (head_init=None): the linear-probe warm start makes the "
                 "encoder's stages diverge on sentence features.")
    resolved = config.replace(stages=plan, class_names=list(train.class_names), monitor=monitor, head_init=head_init,
                              sequence_length=length, pooling=encoder.pooling, augmentation=None,
                              mixed_precision=resolve_precision(runtime.mixed_precision, runtime.strategy),
                              method=method.name, method_options=method.get_config())
    spec = TextBackboneSpec(name=str(config.model.backbone), keras_name=type(encoder.backbone).__name__,
                            pooling=encoder.pooling, sequence_length=length)
    context = TextRunContext(config=resolved, train_spec=train, validation_spec=validation, backbone=spec,
                             image_size=(length,), plan=plan, augmentation=None, log=log,
                             class_weight=resolve_class_weight(config.training.class_weight, train),
                             policy=resolved.runtime.mixed_precision, encoder=encoder)
    context.preprocessor = encoder.preprocessor(length)
    context.train_tokens = tokenize(context.preprocessor, list(train.texts))
    if validation is not None:
        context.validation_tokens = tokenize(context.preprocessor, list(validation.texts))
    context.text_checks = check_texts(train, validation, lengths, length, empty)
    context.model = context.build_classifier()
    context.make_datasets()
    return context
