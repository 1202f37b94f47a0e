"""Training past one machine: multi-worker `tf.distribute` runs, sharded data, TPU-ready shapes.

```
cluster        TF_CONFIG -> ClusterRole (chief or worker); free ports and TF_CONFIGs for a local cluster
strategy       strategy= / distribute= -> the tf.distribute strategy (MultiWorkerMirrored, Mirrored, TPU)
keras_fixes    the two patches Keras 3.15's trainer needs under MultiWorkerMirroredStrategy
sharding       AutoShardPolicy: training FILE (shards) or DATA, validation OFF (every worker sees it all)
chief_only     the chief writes to output_dir, the other workers to a temporary folder
models         the returned model: a plain copy outside the strategy
static_shapes  drop_remainder for TPUs and XLA
launch         start N local workers, watch them, restart the job after a failure (`fit --workers N`)
```

Example:
    >>> build_and_fit("gs://bucket/photos-shards", distribute="multi_worker", output_dir="gs://bucket/run")
"""

from keras_transfer.distributed.chief_only import is_chief, write_dir
from keras_transfer.distributed.cluster import ClusterRole, free_ports, local_cluster, parse_tf_config, read_tf_config
from keras_transfer.distributed.strategy import DISTRIBUTE_CHOICES, is_multi_worker, num_workers, resolve_strategy

__all__ = ["DISTRIBUTE_CHOICES", "ClusterRole", "free_ports", "is_chief", "is_multi_worker", "local_cluster",
           "num_workers", "parse_tf_config", "read_tf_config", "resolve_strategy", "write_dir"]
