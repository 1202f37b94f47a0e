"""Rank backbones before fine-tuning them: transferability scores on frozen features.

Pure numpy / scipy / scikit-learn functions (no Keras import): `logme`,
`nleep`, `hscore` and the cross-validated probes `knn_accuracy` and
`linear_probe_accuracy` take `(N, D)` features and `(N,)` class indices;
`leep` takes a source head's `(N, Z)` probabilities. `SCORES` describes each.
`rank_backbones` (in `rank.py`) extracts each candidate's features and scores them.
"""

from .scores import SCORES, ScoreSpec, hscore, knn_accuracy, leep, linear_probe_accuracy, logme, nleep, score_names

__all__ = [
    "SCORES", "ScoreSpec", "hscore", "knn_accuracy", "leep", "linear_probe_accuracy", "logme", "nleep", "score_names",
    "Candidate", "RankingTable", "rank_backbones",
]


def __getattr__(name: str):
    """`Candidate`, `RankingTable` and `rank_backbones` load Keras, so they are imported on first use."""
    if name in ("Candidate", "RankingTable", "rank_backbones"):
        from keras_transfer.ranking import rank

        return getattr(rank, name)
    raise AttributeError(f"module 'keras_transfer.ranking' has no attribute {name!r}")
