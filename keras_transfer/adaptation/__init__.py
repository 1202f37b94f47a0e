"""Domain adaptation: labelled source images, unlabeled target images (DANN, Deep CORAL, multi-kernel MMD, MCC).

`build_and_fit(data, target_data=..., adaptation="dann")` runs the
`domain_adaptation` method (`method.py`); its parts are usable alone: the
`GradientReversal` layer, the `coral_loss` / `mmd_loss` alignment losses, MCC's `mcc_loss`, the
`AdaptedHead` training model, the A-distance and the embedding plot.
"""

from keras_transfer.adaptation.adapted_model import ADAPTATIONS, AdaptedHead, WarmUp, bottleneck_head, paired_dataset
from keras_transfer.adaptation.alignment_losses import coral_loss, mmd_loss
from keras_transfer.adaptation.class_confusion import mcc_loss
from keras_transfer.adaptation.domain_evaluation import evaluate_domains
from keras_transfer.adaptation.domain_metrics import a_distance, domain_shift, pca_embedding, plot_domain_embedding
from keras_transfer.adaptation.gradient_reversal import GradientReversal, reversal_schedule
from keras_transfer.adaptation.method import DomainAdaptation, adaptation_config, features_accuracy
from keras_transfer.adaptation.selection import choose_on_source, choose_on_target, split_target_test
from keras_transfer.adaptation.training import fit_adapted_head

__all__ = [
    "ADAPTATIONS", "AdaptedHead", "DomainAdaptation", "GradientReversal", "WarmUp", "a_distance", "adaptation_config",
    "bottleneck_head", "choose_on_source", "choose_on_target", "coral_loss", "domain_shift", "evaluate_domains",
    "features_accuracy",
    "fit_adapted_head", "mcc_loss", "mmd_loss", "paired_dataset", "pca_embedding", "plot_domain_embedding",
    "reversal_schedule", "split_target_test",
]
