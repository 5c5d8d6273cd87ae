"""Torch tests run single-threaded: tiny networks gain nothing from threads, and two intra-op
threads per pytest worker on a 2-core CI machine contend (measured on the shared machine at a
load of ~20: the Pyro SVI fixture of test_svi.py took 298 s with torch's default two threads, 38 s
with one)."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
