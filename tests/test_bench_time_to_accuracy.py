"""benchmarks/bench_time_to_accuracy.py: the two rules its tables rest on, on hand-made rows.

"Epochs and minutes to 93%" is the FIRST epoch at or over 93%, not the last or the best; an ablation
effect is claimed only when it is at least two standard errors of the difference (paired when the same
models are evaluated two ways, as with TTA).
"""

import importlib.util

from kit import ROOT


def bench():
    path = ROOT / "benchmarks" / "bench_time_to_accuracy.py"  # benchmarks/ is no package: load the file
    spec = importlib.util.spec_from_file_location("bench_time_to_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_epoch_reaching_each_threshold():
    b = bench()
    rows = [{"epoch": 1, "train_seconds": 60.0, "test_accuracy": 0.915, "test_accuracy_tta": 0.921},
            {"epoch": 2, "train_seconds": 150.0, "test_accuracy": 0.931, "test_accuracy_tta": 0.936},
            {"epoch": 3, "train_seconds": 240.0, "test_accuracy": 0.928, "test_accuracy_tta": 0.941},  # dips
            {"epoch": 4, "train_seconds": 330.0, "test_accuracy": 0.940, "test_accuracy_tta": 0.944}]
    assert b.first_reaching(rows, 0.92) == (2, 2.5)  # epoch 2, 150 s
    assert b.first_reaching(rows, 0.93) == (2, 2.5)  # the first crossing counts, though epoch 3 dips under
    assert b.first_reaching(rows, 0.94) == (4, 5.5)  # at the threshold counts as reached
    assert b.first_reaching(rows, 0.95) is None
    assert b.first_reaching(rows, 0.92, "test_accuracy_tta") == (1, 1.0)
    assert b.first_reaching(rows, 0.94, "test_accuracy_tta") == (3, 4.0)


def test_an_effect_under_two_standard_errors_is_within_noise():
    b = bench()
    base = [0.910, 0.912, 0.914]  # std 0.002: SE of an unpaired difference sqrt(2 * 0.002^2 / 3) = 0.00163
    small = b.effect(base, [0.912, 0.914, 0.916])
    assert abs(small["diff"] - 0.002) < 1e-12 and abs(small["se"] - 0.0016330) < 1e-6
    assert small["verdict"] == "within noise"  # 0.002 < 2 x 0.00163
    assert b.effect(base, [0.920, 0.922, 0.924])["verdict"] == "gain"
    assert b.effect(base, [0.900, 0.902, 0.904])["verdict"] == "loss"
    # +0.3 points on every model: within noise between separately trained models, certain when paired
    tta = [v + 0.003 for v in base]
    assert b.effect(base, tta)["verdict"] == "within noise"
    assert b.effect(base, tta, paired=True)["verdict"] == "gain"
    assert b.effect([0.91], [0.95])["verdict"] == "no spread (1 seed)"  # one seed measures no noise
