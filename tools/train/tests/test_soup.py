"""soup.py: weight averaging of checkpoints of one lineage."""
import pytest
import torch

import soup
import train
from nailtrain.model import NailNet

WIDTHS = (4, 8, 8, 8, 8)


def _checkpoint(seed, widths=WIDTHS):
    torch.manual_seed(seed)
    net = NailNet(widths)
    with torch.no_grad():  # BatchNorm statistics that differ between the two
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(seed + 1)
    return {"arch": "nailnet", "widths": widths, "state": train.cpu_state(net)}


def test_soup_is_the_mean_of_every_float_tensor():
    a, b = _checkpoint(0), _checkpoint(1)
    out = soup.soup([a, b])
    assert out["arch"] == "nailnet" and tuple(out["widths"]) == WIDTHS
    for name, t in out["state"].items():
        if t.is_floating_point():
            torch.testing.assert_close(t, (a["state"][name] + b["state"][name]) / 2)
        else:  # counters: the first checkpoint's
            assert torch.equal(t, a["state"][name])
    # The soup loads into the network the checkpoints describe.
    NailNet(WIDTHS).load_state_dict(out["state"])


def test_soup_of_one_is_that_checkpoint():
    a = _checkpoint(3)
    for name, t in soup.soup([a])["state"].items():
        assert torch.equal(t, a["state"][name])


def test_soup_refuses_other_networks_and_nothing():
    with pytest.raises(ValueError, match="another network"):
        soup.soup([_checkpoint(0), _checkpoint(1, (4, 8, 8, 8, 16))])
    with pytest.raises(ValueError, match="no checkpoints"):
        soup.soup([])
    # A list where a run wrote a tuple is the same network.
    b = _checkpoint(1)
    b["widths"] = list(WIDTHS)
    soup.soup([_checkpoint(0), b])


def test_main_writes_into_a_folder_it_creates(tmp_path, monkeypatch):
    # Workdirs are made by train.py; a soup's output folder is usually new.
    paths = []
    for seed in (0, 1):
        p = tmp_path / f"ck{seed}.pt"
        torch.save(_checkpoint(seed), p)
        paths.append(str(p))
    out = tmp_path / "new" / "soup" / "best.pt"
    monkeypatch.setattr("sys.argv", ["soup.py", "--out", str(out), *paths])
    soup.main()
    got = torch.load(out, map_location="cpu")
    want = soup.soup([torch.load(p, map_location="cpu") for p in paths])
    assert got["arch"] == "nailnet" and got["state"].keys() == want["state"].keys()
    for name, t in want["state"].items():
        assert torch.equal(got["state"][name], t)
