"""Hyper-parameter search over the transfer recipe, on KerasTuner (`keras_transfer.search`).

Importing this package does not import KerasTuner; `search()` does.
"""

from keras_transfer.tuning.budget import Budget
from keras_transfer.tuning.features import SharedFeatures
from keras_transfer.tuning.search import SearchResult, search
from keras_transfer.tuning.space import SearchSpace

__all__ = ["Budget", "SearchResult", "SearchSpace", "SharedFeatures", "search"]
