"""Every benchmark script runs in its seconds-long smoke mode and prints its result lines.

These are not timed tests: the figures of a smoke run mean nothing; only that
each script runs to the end and reports.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
# script → a line its smoke run must print (RATIO lines carry the figures; SKIP when a GPU is needed).
EXPECTED = {
    "input_pipeline": ["RATIO default_policy_epoch1_vs_decode_only", "RATIO cached_epoch2_default_policy_vs",
                       "RATIO build_and_fit_order_first_augmented_epoch_vs", "max |pixel difference|"],
    "feature_cache": ["RATIO feature_cache_speedup_same_start", "RATIO feature_cache_accuracy_points_same_start"],
    "end_to_end": ["RATIO build_and_fit_time_to_reference_accuracy_vs_reference"],
    "precision": ["RATIO mixed_bfloat16_val_accuracy_points_vs_float32"],
    "serving_latency": ["RATIO serving_default_jpeg_vs_keras_pixels_batch1"],
    "gpu_training": [],
    "from_scratch": ["RATIO from_scratch_backbones_reaching_0.9_share"],
    "ranking": ["RATIO ranking_best_mean_kendall_tau", "RATIO ranking_time_vs_fine_tuning_all",
                "RATIO ranking_time_best_score_", "RATIO ranking_time_build_and_fit_auto_scores_vs_fine_tuning_all"],
    "distillation": ["RATIO distilled_unlabeled_minus_labels_only_points", "RATIO distilled_minus_labels_only_points",
                     "RATIO student_vs_teacher_cpu_latency_batch1", "RATIO student_vs_teacher_cpu_latency_batch32",
                     "paired gain distilled - labels only, per seed"],
    "few_shot": ["RATIO few_shot_fashion_mnist_whole_1shot_prototypes_minus_linear_probe_points",
                 "RATIO few_shot_fashion_mnist_whole_1shot_prototypes_minus_fine_tune_points",
                 "RATIO few_shot_fashion_mnist_whole_1shot_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_chosen_block_1shot_prototypes_minus_fine_tune_points",
                 "RATIO few_shot_fashion_mnist_chosen_block_1shot_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_class_splits_mean_1shot_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_class_splits_mean_1shot_rotated_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_class_splits_mean_1shot_blended_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_fixed_split_seeds_mean_1shot_blended_meta_training_gain_points",
                 "RATIO few_shot_fashion_mnist_32px_1shot_prototypes_minus_fine_tune_points",
                 "RATIO few_shot_fashion_mnist_32px_1shot_grid_prototypes_minus_fine_tune_points"],
    "domain_adaptation": ["RATIO domain_adaptation_best_gain_points_mnist_to_uci", "| source-only |",
                          "A-distance of the pooled features"],
    "peft": ["RATIO peft_best_", "_accuracy_points_vs_full_staged", "_adapter_share_of_model_file"],
    "text": ["RATIO text_staged_minus_tfidf_points", "RATIO text_head_only_minus_tfidf_points", "seed 0 | tfidf"],
    "distributed": ["RATIO distributed_two_vs_one_worker_images_per_s",
                    "RATIO distributed_feature_cache_speedup_under_strategy"],
    "search": ["RATIO search_best_minus_default_test_points", "RATIO search_seconds_per_trial_vs_plain_keras_tuner",
               "| plain KerasTuner best model"],
}


def run_smoke(script: str) -> str:
    env = dict(os.environ, KERAS_TRANSFER_BENCH_SMOKE="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, str(BENCHMARKS / f"{script}.py")], capture_output=True, text=True,
                            env=env, timeout=300, cwd=BENCHMARKS.parent)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_smoke(script):
    output = run_smoke(script)
    for expected in EXPECTED[script]:
        assert expected in output, f"{script} did not print {expected!r}:\n{output[-3000:]}"
    if script == "gpu_training":
        assert "SKIP gpu_training" in output or "RATIO efficientnetb0_mixed_xla_vs_float32" in output
    else:
        ratios = [line for line in output.splitlines() if line.startswith("RATIO ")]
        assert ratios and all(" = " in line for line in ratios)


def test_run_all_lists_every_script():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCHMARKS))
    scripts = {path.stem for path in BENCHMARKS.glob("*.py")} - {"run_all", "common", "tf_kernel", "transfer_data"}
    assert set(run_all.SCRIPTS) == scripts


def test_ranking_truth_file_resumes_and_refuses_other_settings(tmp_path, monkeypatch):
    """The ranking ground truth kept per (target, candidate, seed): a rerun reads it back, other settings fail."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ranking import TruthFile

    path = tmp_path / "truth.json"
    settings = {"image_size": 64, "train_per_class": 30, "test_images": 1000, "epochs": "default"}
    first = TruthFile(str(path), settings)
    assert first.get("mnist", "vgg16_hed", 0) is None
    first.put("mnist", "vgg16_hed", 0, 0.877, 41.5)
    first.put("mnist", "vgg16_hed", 1, 0.881, 40.0)
    again = TruthFile(str(path), settings)
    assert again.get("mnist", "vgg16_hed", 1) == {"accuracy": 0.881, "seconds": 40.0}
    assert again.get("mnist", "vgg16_hed", 2) is None
    assert [entry.name for entry in tmp_path.iterdir()] == ["truth.json"]  # no partial file left behind
    with pytest.raises(SystemExit, match="give another --truth-file or the same settings"):
        TruthFile(str(path), {**settings, "epochs": 3})


def test_few_shot_class_splits_are_seeded_disjoint_and_cover_the_ten_classes(monkeypatch):
    """The class-splits study's base/novel splits: fixed for seed -1, reproducible, five and five, no overlap."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from few_shot import BASE, NOVEL, class_split

    assert class_split(-1) == (BASE, NOVEL)
    splits = [class_split(seed) for seed in range(5)]
    assert splits == [class_split(seed) for seed in range(5)]
    for base, novel in splits:
        assert len(base) == len(novel) == 5 and sorted(base + novel) == list(range(10))
    assert len(set(splits)) > 1
