"""TF_CONFIG roles, free ports, the sharding policies, chief-only writes and the local launcher (no training)."""

import json
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.cli.main import main
from keras_transfer.data.sources import from_arrays
from keras_transfer.distributed import chief_only
from keras_transfer.distributed.cluster import free_ports, local_cluster, parse_tf_config, read_tf_config
from keras_transfer.distributed.launch import supervise
from keras_transfer.distributed.sharding import Policy, evaluate_whole, shard_training, training_policy
from keras_transfer.distributed.strategy import resolve_strategy


def test_tf_config_gives_the_role_and_worker_zero_is_chief_without_a_chief_task():
    configs = local_cluster(3)
    ports = [int(address.split(":")[1]) for address in configs[0]["cluster"]["worker"]]
    assert len(set(ports)) == 3 and all(config["cluster"] == configs[0]["cluster"] for config in configs)
    roles = [parse_tf_config(json.dumps(config)) for config in configs]
    assert [role.is_chief for role in roles] == [True, False, False] and roles[2].name == "worker-2"
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}
    assert not parse_tf_config(with_chief).is_chief and parse_tf_config(with_chief).num_workers == 2
    assert read_tf_config({}).is_chief and read_tf_config({}).task_type is None
    with pytest.raises(ValueError, match="not in its cluster"):
        parse_tf_config({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}})
    with pytest.raises(ValueError, match="not JSON"):
        parse_tf_config("{worker")
    assert len(set(free_ports(4))) == 4


def test_multi_worker_needs_tf_config_and_names_are_checked(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG, which is not set"):
        resolve_strategy(distribute="multi_worker")
    with pytest.raises(ValueError, match="must be one of"):
        resolve_strategy(distribute="cluster")
    assert resolve_strategy(distribute="auto") is None


def test_training_is_sharded_by_file_for_shards_and_validation_is_read_whole(tmp_path):
    spec = from_arrays(np.zeros((4, 8, 8, 3), np.uint8), [0, 1, 0, 1])
    assert training_policy(spec, None) == Policy.DATA
    files = spec.__class__(**{**spec.__dict__, "shard_files": ("a", "b")})
    assert training_policy(files, None) == Policy.FILE
    assert training_policy(files.subset(np.arange(2)), None) == Policy.DATA, "a split of the shards is not files"
    dataset = tf.data.Dataset.range(4)
    strategy = tf.distribute.get_strategy()
    assert shard_training(dataset, files, strategy).options().experimental_distribute.auto_shard_policy == Policy.FILE
    assert evaluate_whole(dataset, strategy).options().experimental_distribute.auto_shard_policy == Policy.OFF
    assert shard_training(dataset, files, None) is dataset
    assert chief_only.write_dir(str(tmp_path), None) == str(tmp_path) and chief_only.is_chief()


def test_the_launcher_restarts_every_worker_after_one_fails(tmp_path):
    script = ("import json, os, sys; role = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
              "sys.exit(3 if (role == 1 and sys.argv[1] == '0') else 0)")
    outcome = supervise(lambda index, attempt: [sys.executable, "-c", script, str(attempt)], 2, tmp_path,
                        restarts=1, grace_s=0.5)
    assert outcome.succeeded and outcome.attempts == 2 and "[0, 3]" in outcome.failures[0]
    assert [log.name for log in outcome.logs[1]] == ["worker-0-attempt-1.log", "worker-1-attempt-1.log"]


def test_shard_command_writes_shards_that_fit_reads(shapes_folder, capsys):
    assert main(["shard", str(shapes_folder), "ram://cli/shards", "--image-size", "16", "--shards", "2"]) == 0
    assert "Wrote 120 images of 3 classes in 2 shards" in capsys.readouterr().out
    assert main(["shard", str(shapes_folder), "ram://cli/shards"]) == 2  # refuses to overwrite


def test_a_strategy_given_with_distribute_must_be_of_that_kind():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match="OneDeviceStrategy but distribute='mirrored'"):
        resolve_strategy(strategy, distribute="mirrored")
    assert resolve_strategy(strategy, distribute="auto") is strategy
