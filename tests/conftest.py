import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _small_threads():
    torch.set_num_threads(1)  # tiny shapes: threads only add noise and overhead
    yield
