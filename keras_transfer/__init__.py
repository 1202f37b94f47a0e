"""keras_transfer: transfer learning with Keras 3 that is fast, correct and boring.

Example:
    >>> import keras_transfer
    >>> result = keras_transfer.build_and_fit("photos/", backbone="efficientnetv2b0")
    >>> print(result.summary())
    >>> result.export("saved_models/photos")
"""

import os

# Before TensorFlow is first imported: keep its C++ start-up chatter (oneDNN, CUDA probing) out of the way.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_transfer import _legacy  # noqa: E402
from keras_transfer.adaptation import (  # noqa: E402
    GradientReversal,
    a_distance,
    coral_loss,
    evaluate_domains,
    mcc_loss,
    mmd_loss,
    plot_domain_embedding,
)
from keras_transfer.data.augmentation import DEFAULT_AUGMENTATION, Augmentation  # noqa: E402
from keras_transfer.data.keras2 import ImageDataGenerator  # noqa: E402
from keras_transfer.data.pipeline import decoded_images, make_dataset  # noqa: E402
from keras_transfer.data.scan import CorruptImageError, ScanResult, check_file, scan_files  # noqa: E402
from keras_transfer.data.shards import ShardManifest, read_manifest, write_shards  # noqa: E402
from keras_transfer.data.sources import DataSpec, load_data  # noqa: E402
from keras_transfer.data.unlabeled import unlabeled_images  # noqa: E402
from keras_transfer.distillation import Teacher, distill, load_teacher  # noqa: E402
from keras_transfer.distributed import resolve_strategy  # noqa: E402
from keras_transfer.distributed.launch import supervise  # noqa: E402
from keras_transfer.evaluation.evaluate import Evaluation, compute_metrics, evaluate, transfer_warnings  # noqa: E402
from keras_transfer.evaluation.report import write_report  # noqa: E402
from keras_transfer.fewshot import (  # noqa: E402
    BlockChoice,
    MetaStage,
    PrototypeHead,
    add_classes,
    choose_block,
    episodes,
    evaluate_episodes,
    few_shot,
    meta_train,
)
from keras_transfer.methods import (  # noqa: E402
    MethodResult,
    TransferMethod,
    list_methods,
    register_method,
)
from keras_transfer.models.backbones import (  # noqa: E402
    BackboneSpec,
    Block,
    custom_backbone,
    get_backbone,
    list_backbones,
)
from keras_transfer.models.classifier import build_model, load_model, model_blocks  # noqa: E402
from keras_transfer.models.preprocessing import BackbonePreprocessing  # noqa: E402
from keras_transfer.models.pretrained import (  # noqa: E402
    install_keras_imagenet_weights,
    mobilenet_v1_imagenet_weights,
    mobilenet_v2_partial_imagenet_weights,
    vgg16_hed_weights,
)
from keras_transfer.peft import Adapter, load_adapter, merge_lora  # noqa: E402
from keras_transfer.ranking.rank import Candidate, RankingTable, rank_backbones  # noqa: E402
from keras_transfer.recipes import (  # noqa: E402
    FitConfig,
    FitResult,
    RunContext,
    build_and_fit,
    build_and_fit_from_config,
)
from keras_transfer.serving.export import ExportResult, export  # noqa: E402
from keras_transfer.serving.inference import Predictor, load  # noqa: E402
from keras_transfer.text import (  # noqa: E402
    TextSpec,
    TfidfLogisticRegression,
    load_encoder,
    load_text_data,
    text_blocks,
)
from keras_transfer.train import LayerwiseAdamW, Stage, StagedUnfreeze, default_stages  # noqa: E402
from keras_transfer.tuning import SearchResult, SearchSpace, search  # noqa: E402
from keras_transfer.version import __version__  # noqa: E402

_legacy.install()

__all__ = [
    "ShardManifest",
    "read_manifest",
    "write_shards",
    "resolve_strategy",
    "supervise",
    "TextSpec",
    "TfidfLogisticRegression",
    "load_encoder",
    "load_text_data",
    "text_blocks",
    "GradientReversal",
    "a_distance",
    "coral_loss",
    "evaluate_domains",
    "mcc_loss",
    "mmd_loss",
    "plot_domain_embedding",
    "distill",
    "load_teacher",
    "Teacher",
    "MetaStage",
    "PrototypeHead",
    "add_classes",
    "BlockChoice",
    "choose_block",
    "episodes",
    "evaluate_episodes",
    "few_shot",
    "meta_train",
    "rank_backbones",
    "RankingTable",
    "Candidate",
    "register_method",
    "list_methods",
    "TransferMethod",
    "RunContext",
    "MethodResult",
    "FitConfig",
    "__version__",
    "Augmentation",
    "BackbonePreprocessing",
    "BackboneSpec",
    "Block",
    "CorruptImageError",
    "DEFAULT_AUGMENTATION",
    "DataSpec",
    "Evaluation",
    "ExportResult",
    "FitResult",
    "ImageDataGenerator",
    "LayerwiseAdamW",
    "Predictor",
    "ScanResult",
    "Stage",
    "StagedUnfreeze",
    "build_and_fit",
    "build_and_fit_from_config",
    "build_model",
    "check_file",
    "compute_metrics",
    "custom_backbone",
    "decoded_images",
    "default_stages",
    "evaluate",
    "export",
    "get_backbone",
    "list_backbones",
    "load",
    "load_data",
    "load_model",
    "Adapter",
    "load_adapter",
    "merge_lora",
    "make_dataset",
    "model_blocks",
    "scan_files",
    "transfer_warnings",
    "install_keras_imagenet_weights",
    "mobilenet_v1_imagenet_weights",
    "mobilenet_v2_partial_imagenet_weights",
    "vgg16_hed_weights",
    "write_report",
    "search",
    "SearchResult",
    "SearchSpace",
    "unlabeled_images",
]
