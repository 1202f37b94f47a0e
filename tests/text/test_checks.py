import numpy as np
import pytest

from keras_transfer.text.checks import check_texts, check_warnings, drop_empty
from keras_transfer.text.encoders import choose_sequence_length
from keras_transfer.text.pooling import preset_pooling
from keras_transfer.text.sources import text_spec


def test_findings_count_empty_duplicate_truncated_and_undecodable_texts():
    train = text_spec((["good film", "Good  film", "", "bad", b"\xff odd", "a very long one"],
                       ["p", "p", "n", "n", "n", "p"]))
    validation = text_spec((["bad", "new text"], ["n", "p"]))
    train, dropped = drop_empty(train)
    assert dropped == [2] and len(train) == 5
    lengths = np.array([4, 4, 3, 4, 40])
    findings = check_texts(train, validation, lengths, sequence_length=16, dropped_empty={"training": dropped})
    assert findings["empty"] == {"training": 1}
    assert findings["duplicates"] == 1 and findings["duplicates_across"] == 1
    assert findings["truncated"] == 1 and findings["examples"]["truncated"] == ["a very long one"]
    assert findings["undecodable"] == 1
    lines = " ".join(check_warnings(findings))
    for fragment in ("Dropped 1 empty", "repeat an earlier one", "also appear in the training data",
                     "truncated", "not valid UTF-8"):
        assert fragment in lines


def test_all_empty_texts_is_a_clear_error():
    with pytest.raises(ValueError, match="Every training text is empty.*text_column="):
        drop_empty(text_spec((["", "  "], ["a", "b"])))


def test_sequence_length_comes_from_the_token_lengths_and_the_preset_caps_it():
    assert choose_sequence_length(np.array([5, 9, 30]), cap=512) == 32
    assert choose_sequence_length(np.array([3, 4]), cap=512) == 8
    assert choose_sequence_length(np.array([900] * 10), cap=512) == 512
    with pytest.raises(ValueError, match="exceeds the preset's 64 positions"):
        choose_sequence_length(np.array([5]), cap=64, given=128)


def test_pooling_follows_the_sentence_transformers_config(tmp_path):
    assert preset_pooling(tmp_path) == "cls"
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    assert preset_pooling(tmp_path) == "mean"
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_max_tokens": true}')
    with pytest.raises(ValueError, match="pooling_mode_max_tokens"):
        preset_pooling(tmp_path)
