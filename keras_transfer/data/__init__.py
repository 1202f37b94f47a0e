"""Data: sources -> `DataSpec`, the file scan, decoding, tf.data pipelines, augmentation, Keras 2's ImageDataGenerator.

`keras_transfer.data` was one module before 0.2; its public names still import from here.
"""

from keras_transfer.data.sources import (
    LABEL_COLUMNS,
    PATH_COLUMNS,
    DataSpec,
    encode_labels,
    from_arrays,
    from_dataframe,
    from_folder,
    from_tf_dataset,
    from_tfds,
    list_images,
    load_data,
    scan_spec,
    split_spec,
    summarize,
    to_spec,
)

__all__ = [
    "LABEL_COLUMNS", "PATH_COLUMNS", "DataSpec", "encode_labels", "from_arrays", "from_dataframe", "from_folder",
    "from_tf_dataset", "from_tfds", "list_images", "load_data", "scan_spec", "split_spec", "summarize", "to_spec",
]
