"""from_onnx rebuilds a trainable NailNet from an export whose BatchNorms were folded."""
import numpy as np
import pytest
import torch

import builders
from nailtrain import from_onnx
from nailtrain.model import NailNet

WIDTHS = builders.NAILNET_WIDTHS


def test_rebuilt_model_computes_the_export(tmp_path):
    original, path = builders.exported_nailnet(tmp_path)
    rebuilt = NailNet(WIDTHS)
    calib = [torch.randn(2, 3, 64, 64) for _ in range(3)]
    from_onnx.load(rebuilt, str(path), calib)
    rebuilt.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want, got = original(x).numpy(), rebuilt(x).numpy()
    assert np.abs(want - got).max() < 1e-4


def test_recalibrated_batchnorm_trains_from_the_same_place(tmp_path):
    # In train mode a BatchNorm normalises by the batch's own statistics: with the
    # recalibrated scale and shift, a batch like the calibration data gives nearly
    # what eval mode gives, instead of a scale the fold erased.
    _, path = builders.exported_nailnet(tmp_path)
    rebuilt = NailNet(WIDTHS)
    torch.manual_seed(1)
    calib = [torch.randn(8, 3, 64, 64) for _ in range(4)]
    from_onnx.load(rebuilt, str(path), calib)
    x = torch.randn(8, 3, 64, 64)
    with torch.no_grad():
        rebuilt.eval()
        ev = rebuilt(x)
        rebuilt.train()
        tr = rebuilt(x)
    rel = (ev - tr).abs().mean() / ev.abs().mean()
    assert rel < 0.2


def test_other_widths_are_refused(tmp_path):
    _, path = builders.exported_nailnet(tmp_path)
    with pytest.raises(ValueError, match="other widths"):
        from_onnx.load(NailNet((8, 8, 16, 16, 24)), str(path), [torch.randn(1, 3, 64, 64)])
