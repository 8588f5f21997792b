import os
import signal
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # tests are CPU-only and must not grab a GPU
sys.path.insert(0, str(Path(__file__).parent))  # `from kit import ...` in every test file
# Started in the background by a non-interactive shell (`bash scripts/test.sh &`), the suite inherits
# SIGINT ignored, and so would every `zoo` it starts: the Ctrl-C tests need Python's own handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from kit import real_fashion_mnist, write_fashion_like_idx  # noqa: E402

# Without the Debian package (dataset-fashion-mnist), the end-to-end tests train on generated
# Fashion-MNIST-like IDX files instead (found through $ZOO_DATA_DIR); tests that need the real
# images (the shipped models' accuracy) skip with `kit.needs_real_fashion_mnist`.


def pytest_configure(config):
    if not real_fashion_mnist() and not os.environ.get("ZOO_TEST_FAKE_FASHION_MNIST"):
        import tempfile

        # set once, in the main process: xdist workers inherit both variables
        os.environ["ZOO_DATA_DIR"] = str(write_fashion_like_idx(Path(tempfile.mkdtemp(prefix="zoo-fake-fmnist-"))))
        os.environ["ZOO_TEST_FAKE_FASHION_MNIST"] = "1"


@pytest.fixture(scope="session")
def fashion_mnist():
    """Fashion-MNIST (the real one, or the generated stand-in) with a 10% val split."""
    from zoo.data import load_dataset

    return load_dataset("fashion_mnist", val_fraction=0.1, seed=0)
