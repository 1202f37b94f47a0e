"""A tiny random BERT preset (written once per session) and tiny review texts for the text tests."""

import pytest


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    from keras_transfer.testing.tiny_text import tiny_text_preset

    return tiny_text_preset(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def reviews():
    from keras_transfer.testing.tiny_text import tiny_reviews

    return tiny_reviews(64)


@pytest.fixture(scope="session")
def run(tiny_preset, reviews):
    """One short text run (head on cached features, then the top transformer layer), shared by the tests."""
    import keras_transfer
    from keras_transfer.train import Stage

    plan = [Stage("head", epochs=2, learning_rate=1e-2),
            Stage("top", epochs=2, learning_rate=1e-2, train_blocks=1)]
    texts, labels = reviews
    texts = list(texts) + ["", texts[0]]  # one empty and one duplicate text for the checks
    labels = list(labels) + ["fresh", labels[0]]
    return keras_transfer.build_and_fit((texts, labels), backbone=str(tiny_preset), text_column="text",
                                        validation_split=0.25, stages=plan, batch_size=16, verbose=0)
