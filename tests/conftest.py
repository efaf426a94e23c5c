"""Shared test settings. The machine is 2 shared cores: torch's thread pool only adds contention to the
small tensors of unit tests, so every test runs torch on one thread."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
