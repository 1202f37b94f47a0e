"""Text transfer: fine-tune KerasHub encoders (BERT, MiniLM, ...) with the staged recipe, the TF-IDF baseline,
the text data checks and a SavedModel on raw strings. `build_and_fit(data, backbone=<preset>, text_column=...)`
runs it; KerasHub is imported only when a text run starts."""

from keras_transfer.text.baseline import TfidfLogisticRegression, fit_tfidf_classifier
from keras_transfer.text.blocks import TextBackboneSpec, text_blocks
from keras_transfer.text.checks import check_texts
from keras_transfer.text.encoders import TextEncoder, choose_sequence_length, load_encoder
from keras_transfer.text.pooling import MaskedMeanPooling, preset_pooling
from keras_transfer.text.sources import TextSpec, load_text_data

__all__ = [
    "MaskedMeanPooling", "TextBackboneSpec", "TextEncoder", "TextSpec", "TfidfLogisticRegression", "check_texts",
    "choose_sequence_length", "fit_tfidf_classifier", "load_encoder", "load_text_data", "preset_pooling",
    "text_blocks",
]
