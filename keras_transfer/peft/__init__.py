"""Parameter-efficient fine-tuning: what a `Stage(parameters=...)` trains, LoRA, and adapters saved alone."""

from keras_transfer.peft.adapters import Adapter, load_adapter
from keras_transfer.peft.lora import enable_lora, has_lora, lora_capable, lora_layers, merge_lora
from keras_transfer.peft.outcome import PeftOutcome, finish_peft, peft_stages_of
from keras_transfer.peft.parameters import (
    bias_variables,
    is_normalization,
    lora_variables,
    norm_variables,
    train_only,
    tuned_variables,
)

__all__ = [
    "Adapter", "bias_variables", "enable_lora", "has_lora", "is_normalization", "load_adapter", "lora_capable",
    "lora_layers", "lora_variables", "merge_lora", "norm_variables", "PeftOutcome", "finish_peft", "peft_stages_of",
    "train_only", "tuned_variables",
]
