import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from keras_transfer.text.sources import load_text_data, text_spec


def test_lists_dataframe_csv_and_tf_data_give_the_same_spec(tmp_path):
    texts, labels = ["a great film", "dull", "fun", "awful"], ["pos", "neg", "pos", "neg"]
    frame = pd.DataFrame({"review": texts, "sentiment": labels})
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    dataset = tf.data.Dataset.from_tensor_slices((texts, [1, 0, 1, 0])).batch(2)
    from_lists = text_spec((texts, labels))
    from_frame = text_spec(frame, text_column="review", label_column="sentiment")
    from_csv = text_spec(tmp_path / "reviews.csv", text_column="review", label_column="sentiment")
    from_dataset = text_spec(dataset)
    for spec in (from_frame, from_csv):
        assert list(spec.texts) == texts and spec.class_names == ["neg", "pos"]
        np.testing.assert_array_equal(spec.labels, from_lists.labels)
    assert list(from_dataset.texts) == texts and list(from_dataset.labels) == [1, 0, 1, 0]


def test_multi_label_cells_become_multi_hot():
    spec = text_spec((["war and peace", "peace", "war"], ["war|peace", "peace", "war"]))
    assert spec.multi_label and spec.class_names == ["peace", "war"]
    assert spec.labels.tolist() == [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]


def test_split_keeps_texts_with_their_labels():
    texts = [f"text {i}" for i in range(20)]
    train, validation = load_text_data((texts, [i % 2 for i in range(20)]), validation_split=0.25, seed=0)
    assert len(train) + len(validation) == 20 and len(validation) == 4
    for spec in (train, validation):
        assert all(int(text.split()[1]) % 2 == label for text, label in zip(spec.texts, spec.labels))


def test_a_missing_text_column_names_the_columns_and_the_fix():
    frame = pd.DataFrame({"review": ["good"], "label": ["pos"]})
    with pytest.raises(ValueError, match=r"no column 'body'.*\['review', 'label'\].*text_column="):
        text_spec(frame, text_column="body")
    with pytest.raises(ValueError, match="cannot tell which column holds the texts.*text_column="):
        text_spec(pd.DataFrame({"words": ["good"], "label": ["pos"]}))


def test_empty_data_is_a_clear_error():
    with pytest.raises(ValueError, match="has no rows"):
        text_spec(pd.DataFrame({"text": [], "label": []}))


def test_bytes_that_are_not_utf8_are_decoded_and_listed():
    spec = text_spec(([b"caf\xc3\xa9", b"bad \xff byte"], ["a", "b"]))
    assert spec.texts[0] == "café" and spec.undecodable == [1]
