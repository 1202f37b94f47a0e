"""Few-shot learning (小样本学习) and meta-learning (元学习): prototype classifiers that export like any model.

- `pooling`: the embedding the prototypes live in (`"average"` or `"grid"`-pooled last feature map);
- `prototype_head`: the `PrototypeHead` layer (class means as weights, cosine or euclidean distance);
- `method`: the `prototypes` transfer method (`build_and_fit(method="prototypes")`);
- `build`: `few_shot()`, a prototype classifier from a handful of images, as a `FitResult`;
- `new_classes`: `add_classes()`, new or updated classes without retraining;
- `sampling`: `episodes()`, seeded class-balanced N-way K-shot tasks;
- `episodic_evaluation`: prototypes, linear probe and fine-tuning on the same episodes, mean and 95% CI;
- `meta_training`: `meta_train()`, episodic prototypical training of a backbone on base classes;
- `block_choice`: `choose_block()`, which block's features make the best prototypes, judged on base classes;
- `trainable`: which backbone blocks train while a few-shot model adapts.
"""

from keras_transfer.fewshot.block_choice import BlockChoice, choose_block
from keras_transfer.fewshot.build import few_shot
from keras_transfer.fewshot.episodic_evaluation import (
    EpisodeFineTuner,
    EpisodicScore,
    confidence_interval,
    embed_images,
    evaluate_episodes,
)
from keras_transfer.fewshot.meta_training import MetaStage, meta_train
from keras_transfer.fewshot.method import Prototypes
from keras_transfer.fewshot.new_classes import add_classes
from keras_transfer.fewshot.pooling import grid_features_model
from keras_transfer.fewshot.prototype_head import PrototypeHead, class_means, embedding_model, prototype_logits
from keras_transfer.fewshot.sampling import Episode, episodes

__all__ = [
    "BlockChoice", "Episode", "EpisodeFineTuner", "EpisodicScore", "MetaStage", "PrototypeHead", "Prototypes",
    "add_classes", "choose_block", "class_means", "confidence_interval", "embed_images", "embedding_model",
    "episodes", "evaluate_episodes", "few_shot", "grid_features_model", "meta_train", "prototype_logits",
]
