"""--precision auto: mixed precision only where the hardware runs it natively, recorded as a decision."""

import json

from kit import invoke

from zoo.training import distributed


class _NoGPU:
    class config:
        @staticmethod
        def list_physical_devices(kind):
            return []


def test_auto_picks_bf16_only_on_cpus_with_native_bf16(monkeypatch):
    monkeypatch.setattr(distributed, "cpu_flags", lambda: {"avx2", "fma"})
    assert distributed.auto_precision(False, _NoGPU)[0] == "fp32"
    monkeypatch.setattr(distributed, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    precision, reason = distributed.auto_precision(False, _NoGPU)
    assert precision == "mixed_bfloat16" and "AVX512_BF16" in reason
    monkeypatch.setattr(distributed, "cpu_flags", lambda: {"amx_bf16"})
    assert distributed.auto_precision(False, _NoGPU)[0] == "mixed_bfloat16"


def test_auto_on_gpus_follows_compute_capability():
    def fake_tf(cc):
        class tf:
            class config:
                @staticmethod
                def list_physical_devices(kind):
                    return ["gpu0"]

                class experimental:
                    @staticmethod
                    def get_device_details(device):
                        return {"compute_capability": cc}
        return tf

    assert distributed.auto_precision(True, fake_tf((8, 6)))[0] == "mixed_bfloat16"
    assert distributed.auto_precision(True, fake_tf((7, 5)))[0] == "mixed_float16"
    assert distributed.auto_precision(True, fake_tf((6, 1)))[0] == "fp32"


def test_a_run_records_the_precision_it_used_apart_from_the_option(tmp_path):
    out = tmp_path / "run"
    result = invoke("train", "simplenet", "--input-shape", "16,16,1", "--limit", "128", "--epochs",
                    "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    expected = distributed.auto_precision(False, _NoGPU)
    assert config["precision"] == "auto"
    assert (config["decisions"]["precision"], config["decisions"]["precision_reason"]) == expected
    assert f"Precision: {expected[0]}" in result.output
