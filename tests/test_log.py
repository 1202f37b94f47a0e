"""The one logger honours verbose."""

import io

from keras_transfer.log import Log


def test_verbose_zero_prints_nothing_and_one_prints_progress_and_warnings():
    quiet, loud = io.StringIO(), io.StringIO()
    for log in (Log(0, stream=quiet), Log(1, stream=loud)):
        log.info("stage 1")
        log.warning("careful")
        log.detail("fine print")
    assert quiet.getvalue() == ""
    assert loud.getvalue() == "stage 1\nWARNING: careful\n"
