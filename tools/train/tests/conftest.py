"""Shared fixtures (the builders behind them are in builders.py)."""
import pytest

import builders


@pytest.fixture
def samples():
    """by_source for augment: small samples of every source, nails painted red."""
    return builders.make_samples()


@pytest.fixture
def tiny_dataset(tmp_path):
    """(root, {id: (row, image, mask, instances)}) of a four-photo dataset in tmp_path."""
    return builders.tiny_dataset(str(tmp_path))
