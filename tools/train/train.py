#!/usr/bin/python3
"""Train NailNet on ../shared/datasets/nails, pick the best checkpoint on val, export ONNX.

    /usr/bin/python3 tools/train/train.py            # what `make train` runs
    /usr/bin/python3 tools/train/train.py --steps 200 --eval-every 100   # a smoke run

Seeded end to end (Python, NumPy and torch RNGs, one data worker): the same command on the
same machine gives the same model. See tools/train/README.md for timings.

On a GPU machine (DEVELOPERS.md, "Training on a lent GPU"): --device picks it (auto: CUDA
when torch sees one), and --workers sets how many processes synthesise crops (each is
seeded by its number, so a run is repeatable for a given --workers; 1, the default,
keeps CPU runs as they were).
"""
import argparse
import contextlib
import copy
import ctypes
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from nailtrain import augment, dataset, from_onnx, negatives, pretrained
from nailtrain.metrics import Accumulator, components, instances_from_labels
from nailtrain.model import MobileNetV1Seg, MobileNetV2Seg, NailNet, build, count_params

# Checkpoint selection: whole-hand photos are what users send, so they weigh most.
SELECT_WEIGHTS = {"hands": 0.6, "closeups": 0.2, "fingers": 0.1, "fingertips": 0.1}


class Synth(torch.utils.data.IterableDataset):
    """Endless normalised training crops; weights (source -> share, in this order) default
    to augment.SOURCE_WEIGHTS."""

    def __init__(self, by_source, crop, size, seed, weights=None, negatives=None, neg_share=0.0, small=0.0,
                 clean=0.0, zoom_out=0.0, zoom=augment.ZOOM_OUT_RANGE):
        self.by_source, self.crop, self.size, self.seed = by_source, crop, size, seed
        self.zoom_out, self.zoom = zoom_out, zoom
        self.weights = dict(augment.SOURCE_WEIGHTS if weights is None else weights)
        self.negatives, self.neg_share, self.small, self.clean = negatives, neg_share, small, clean

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            img, lab = augment.synth(rng, self.by_source, self.crop, self.size, self.weights,
                                     self.negatives, self.neg_share, self.clean, self.zoom_out, self.zoom)
            w = augment.small_nail_weights(lab, self.small)
            yield torch.from_numpy(augment.normalise(img)), torch.from_numpy(lab)[None], torch.from_numpy(w)[None]


def zoom_range(text):
    """--zoom-range "lo,hi" -> (lo, hi), 0 < lo <= hi <= 1; anything else stops the run."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"--zoom-range {text!r}: expected two numbers, lo,hi") from None
    if not 0 < lo <= hi <= 1:
        raise SystemExit(f"--zoom-range {text!r}: expected 0 < lo <= hi <= 1")
    return lo, hi


def loss_fn(logits, target, weight=None, lovasz=0.0):
    """BCE + soft Dice (+ lovasz x the Lovasz hinge); weight (same shape, optional) scales
    each pixel in BCE and Dice (all ones gives the unweighted loss exactly)."""
    if weight is None:
        weight = torch.ones_like(target)
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum() / weight.sum()
    p = torch.sigmoid(logits) * weight
    inter = (p * target).sum(dim=(1, 2, 3))
    denom = p.sum(dim=(1, 2, 3)) + (target * weight).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (denom + 1)
    loss = bce + dice.mean()
    if lovasz:
        loss = loss + lovasz * lovasz_hinge(logits, target)
    return loss


def distilled_target(label, teacher_logits, share):
    """The target a distilled student fits: share x the teacher's nail probability plus
    (1 - share) x the label. The teacher's probabilities are soft where the polygons'
    rasterised edges are hard (most of the pixels the model gets wrong lie on nails'
    edges), and they carry what a larger network learnt from the same labels."""
    if share <= 0:
        return label
    return (1 - share) * label + share * torch.sigmoid(teacher_logits)


def load_teacher(path, device, layout=torch.contiguous_format):
    """The network a checkpoint holds (any architecture train.py writes), with its
    weights, in eval mode (BatchNorm's running statistics, no dropout) on device."""
    ckpt = torch.load(path, map_location="cpu")
    teacher = build(ckpt)
    teacher.load_state_dict(ckpt["state"])
    return teacher.to(device, memory_format=layout).eval()


def lovasz_hinge(logits, target):
    """The Lovasz hinge (Berman et al., CVPR 2018), per image, averaged over the batch: a
    convex surrogate of 1 - IoU whose gradient is largest on the pixels that decide the
    image's IoU, the boundary ones. What fine-tuning with it was for: 72% of the pixels
    v4e gets wrong on val hands lie on the edges of nails it found (the rest are nails it
    missed or found where there are none), and BCE + Dice weigh every pixel alike (v5a,
    training README: it gained nothing). It is not pixel-weighted: the small-nail weights
    act through BCE and Dice. An image with no nail costs the hinge of its most confident
    false pixel."""
    t = target.flatten(1)
    errors, order = torch.sort(1 - logits.flatten(1) * (2 * t - 1), dim=1, descending=True)
    t = t.gather(1, order)
    total = t.sum(1, keepdim=True)
    # IoU loss after each prefix of the sorted pixels is predicted positive; its
    # differences are the weights the sorted hinge errors get.
    jaccard = 1 - (total - t.cumsum(1)) / (total + (1 - t).cumsum(1))
    jaccard = torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], dim=1)
    return (F.relu(errors) * jaccard).sum(1).mean()


class EMA:
    """An exponential moving average of a model's weights and BatchNorm statistics.

    With a batch of 8 crops the weights wander from step to step (the val curve of one
    cycle moves +-0.02 hands IoU between evaluations), so the last or best raw checkpoint
    is one draw from that spread. The average over the last ~1/(1-decay) steps sits in
    the middle of it. Integer buffers (BatchNorm's step counters) are copied.
    """

    def __init__(self, model, decay):
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model):
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.state[k].mul_(self.decay).add_(v.detach(), alpha=1 - self.decay)
            else:
                self.state[k].copy_(v)

    def copy_to(self, model):
        model.load_state_dict(self.state)


@contextlib.contextmanager
def all_cores(n):
    """Runs the block with at least every core's worth of torch threads (evaluation and the
    hard-example pass, which run while the crop worker waits), then puts n back."""
    torch.set_num_threads(max(n, os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(n)


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(libc=None):
    """Has glibc keep the memory torch frees for the next step instead of returning it.

    glibc serves blocks over its mmap threshold (at most 32 MiB while it adjusts it itself)
    with a fresh mmap each, given back when freed, so every step faults its largest
    activations in again page by page; on the 2-core VM a fault costs ~13 us. A batch-16
    step of 320 px crops stays under 32 MiB a tensor (0.94 s a step); batch 32 and 384 px
    crops do not, and took 5.1 s and 3.4 s a step, against 2.0 s and 1.0-1.5 s with the
    memory kept (tools/train/README.md, Training speed). A training process holds gigabytes
    anyway; what it frees it needs again next step. glibc's own variables win when set.
    Returns whether both settings were applied."""
    if any(v in os.environ for v in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    if libc is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
        except OSError:  # not glibc
            return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1
    return libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok


def resolve_device(name):
    """The torch device --device names: auto is CUDA when torch sees a GPU, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch {torch.__version__} sees no CUDA GPU here (use --device cpu)")
    if name != "cpu" and not name.startswith("cuda"):
        raise SystemExit(f"--device {name}: expected auto, cpu, cuda or cuda:N")
    return torch.device(name)


def encoder_rate(args):
    """The encoder's learning rate as a fraction of --lr: --encoder-lr when given, else
    0.5 for a --pretrained start (the decoder starts random and must catch up before the
    ImageNet features are worth changing much) and 1 for any other start. Until the eighth
    session of issue 35 --encoder-lr applied only with --pretrained, so every continuation
    cycle (--init) moved the encoder at the full rate; 1 keeps those recipes as they ran."""
    if args.encoder_lr is None:
        return 0.5 if args.pretrained else 1.0
    if args.encoder_lr < 0:
        raise SystemExit(f"--encoder-lr {args.encoder_lr:g}: expected a fraction >= 0")
    if args.arch == "nailnet":
        raise SystemExit("--encoder-lr: nailnet has no separate encoder (mnv1 and mnv2 have)")
    return args.encoder_lr


def param_groups(model, lr, enc_rate):
    """The optimiser's parameter groups: one at lr, or, when the encoder's rate differs,
    the decoder at lr and the encoder (pretrained.encoder_parameters) at lr x enc_rate."""
    if enc_rate == 1.0:
        return [{"params": list(model.parameters()), "lr": lr}]
    enc = set(pretrained.encoder_parameters(model))
    return [{"params": [p for p in model.parameters() if p not in enc], "lr": lr},
            {"params": [p for p in model.parameters() if p in enc], "lr": lr * enc_rate}]


def cpu_state(model):
    """The model's weights as CPU tensors: checkpoints load on any machine (export.py runs
    on the CPU even when training ran on a GPU)."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


@torch.no_grad()
def predict(model, img_u8, size):
    """Probability map at the photo's own resolution, as the Go pipeline computes it."""
    canvas, _, (dx, dy, nw, nh) = augment.letterbox(img_u8, size)
    p = next(model.parameters(), None)  # a model with no weights runs on the CPU
    device = p.device if p is not None else torch.device("cpu")
    x = torch.from_numpy(augment.normalise(canvas))[None].to(device)
    logits = model(x)[:, :, dy:dy + nh, dx:dx + nw]
    logits = F.interpolate(logits, size=img_u8.shape[:2], mode="bilinear", align_corners=False)
    return torch.sigmoid(logits)[0, 0].cpu().numpy()


def evaluate(model, samples, size, threshold=0.5, min_area=0):
    model.eval()
    acc = {}
    for s in samples:
        pred = predict(model, s.image, size) > threshold
        acc.setdefault(s.source, Accumulator()).add(pred, s.mask, min_area, s.instances)
    overall = Accumulator()
    for a in acc.values():
        for k, v in vars(a).items():
            setattr(overall, k, getattr(overall, k) + v)
    out = {k: a.result() for k, a in sorted(acc.items())}
    out["overall"] = overall.result()
    return out


@torch.no_grad()
def weigh_hard(model, samples, size, strength, threshold=0.5, per_missed=0.0):
    """Hard-example weights: each photo is drawn 1 + strength * (1 - IoU) + per_missed * M
    times as often, where IoU is the starting model's on that photo (threshold 0.5, no TTA)
    and M the number of its nails the model misses (missed_nails). Photos the model already
    gets right are still seen; the ones with missed nails or false ones on the background
    (the failure modes left on val/hands) come up more. Returns the per-photo IoUs and the
    per-photo missed-nail counts.

    Why per_missed as well as the IoU: one missed nail among eight costs a photo ~0.1 IoU,
    so --hard 2 draws it 1.2 times as often as a perfect one; most of val hands' misses are
    nails the network never fires on, one or two a photo (tools/train/README.md)."""
    model.eval()
    ious, missed = [], []
    for s in samples:
        pred = predict(model, s.image, size) > threshold
        union = np.logical_or(pred, s.mask).sum()
        iou = 1.0 if union == 0 else np.logical_and(pred, s.mask).sum() / union
        m = missed_nails(pred, s)
        s.weight = 1.0 + strength * (1.0 - iou) + per_missed * m
        ious.append(iou)
        missed.append(m)
    return np.array(ious), np.array(missed)


def missed_nails(pred, s):
    """How many of the sample's nails have under half their pixels in the boolean
    prediction; its nails as the metrics count them (the instance map, or the mask's
    8-connected parts where it has none)."""
    nails = components(s.mask) if s.instances is None else instances_from_labels(s.instances)
    return sum(int(pred[sl][nail].mean() < 0.5) for sl, nail in nails)


def nohand_photos(seed=0, scenes=24, max_side=640):
    """The no-hand validation photos: the val wallpapers (negatives.find("val")) and
    `scenes` generated scenes from a fixed seed (tools/train/nohand.py writes the same set
    to disk for tools/eval)."""
    rng = np.random.default_rng(seed)
    return negatives.load("val", max_side) + [negatives.scene(rng, 384).astype(np.uint8) for _ in range(scenes)]


def nohand_rate(model, photos, size, threshold=0.5):
    """The mean share of each no-hand photo's pixels predicted nail (0 is right)."""
    model.eval()
    return float(np.mean([(predict(model, p, size) > threshold).mean() for p in photos])) if photos else 0.0


def selection_score(res, nohand=0.0):
    """Weighted val IoU, less the share of no-hand photos painted as nail."""
    return sum(w * res[k]["iou"] for k, w in SELECT_WEIGHTS.items() if k in res) - nohand


def stop_reason(step, args, elapsed):
    """Why training ends after this step, "" to go on. The checkpoint is evaluated first
    whatever the reason, so a run stopped by --max-seconds or --stop-at keeps its last
    weights if they are its best; --stop-at ends a run where an earlier one was stopped
    while the learning rate follows the same --steps schedule."""
    if args.max_seconds > 0 and elapsed >= args.max_seconds:
        return f"time limit: stopped at step {step} after {elapsed:.0f}s (--max-seconds)"
    if 0 < args.stop_at <= step < args.steps:
        return f"stopped at step {step} of {args.steps} (--stop-at)"
    if step >= args.steps:
        return f"finished: {step} steps"
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=None,
                    help="dataset folder (default ../shared/datasets/nails or $NAILTRT_DATASET)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=320, help="training crop side")
    ap.add_argument("--size", type=int, default=512, help="model input side at inference")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--patience", type=int, default=10, help="evaluations without improvement before stopping")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint or exported .onnx (same --widths) instead of random weights")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads for the training steps; evaluation and the hard-example pass, "
                         "when no crops are being made, use every core. On a 2-core CPU, 1 leaves a core "
                         "to the worker that makes the crops (tools/train/README.md, Training speed)")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto: CUDA when torch sees a GPU)")
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop training after this long (evaluating and keeping the best checkpoint first); "
                         "0: no limit. For a lent GPU's per-call time limit")
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop after this step of the --steps schedule (evaluating first), as a run that "
                         "was stopped early by a time limit or a session's end was: `make train` repeats "
                         "such runs without training past where they stopped; 0: run all --steps")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes synthesising training crops (a run repeats for the same number)")
    ap.add_argument("--workdir", default="build/train")
    ap.add_argument("--arch", default="nailnet", choices=("nailnet", "mnv1", "mnv2"),
                    help="encoder: nailnet (from scratch), mnv1 (MobileNetV1) or mnv2 (DeepLabV3's MobileNetV2); "
                         "the last two can start from --pretrained")
    ap.add_argument("--output-stride", type=int, default=32, choices=(16, 32),
                    help="mnv2: 32 (strided last stage) or 16 (dilated, as DeepLab)")
    ap.add_argument("--dec", default="16,24,32,64", help="mnv2: decoder widths at strides 2, 4, 8, 16")
    ap.add_argument("--negatives", type=float, default=0.0,
                    help="share of training images with no hand (wallpapers and generated scenes, "
                         "nailtrain/negatives.py); 0 keeps earlier runs' draws")
    ap.add_argument("--widths", default="16,32,64,128,192", help="NailNet channel widths of the five stages")
    ap.add_argument("--alpha", type=float, default=None,
                    help="MobileNet width multiplier (default: 0.25 for mnv1, 0.5 for mnv2)")
    ap.add_argument("--pretrained", default=None,
                    help="TFLite MobileNetV1 whose ImageNet weights start the mnv1 encoder "
                         "(tools/train/pretrained/README.md)")
    ap.add_argument("--encoder-lr", type=float, default=None,
                    help="learning rate of the mnv1/mnv2 encoder (conv0 and the blocks), as a fraction of --lr; "
                         "default 0.5 with --pretrained (its decoder starts random), 1 otherwise (a continuation "
                         "cycle moves the whole network alike, as every later cycle of make train does)")
    ap.add_argument("--weights", default="hands=0.7,closeups=0.15,fingers=0.075,fingertips=0.075",
                    help="share of training samples drawn from each source")
    ap.add_argument("--hard", type=float, default=0.0,
                    help="hard-example strength: draw each training photo 1 + HARD * (1 - its IoU under the "
                         "starting model) times as often (0 = uniform within a source)")
    ap.add_argument("--hard-nails", type=float, default=0.0,
                    help="also add this much to a photo's draw weight for each of its nails "
                         "the starting model misses (under half its pixels found; 0: IoU only, as before)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="evaluate and keep an exponential moving average of the weights with this decay "
                         "(e.g. 0.998; 0: the raw weights, as before)")
    ap.add_argument("--channels-last", action="store_true",
                    help="keep the model's activations channels-last (NHWC), which the CPU's oneDNN "
                         "kernels run faster")
    ap.add_argument("--small", type=float, default=0.0,
                    help="small-nail loss weights: pixels of a nail smaller than this many crop pixels weigh "
                         "sqrt(SMALL / area), at most 4 (augment.small_nail_weights; 0: uniform, as before)")
    ap.add_argument("--clean", type=float, default=0.0,
                    help="share of the hand crops that are the photo as inference sees it (augment.clean_view: "
                         "no synthetic background, mosaic, rotation, polish or glare) instead of a synthetic "
                         "scene; for the last cycles, which fit the real photos (0: all synthetic, as before)")
    ap.add_argument("--zoom-out", type=float, default=0.0,
                    help="share of the clean crops that are four photos zoomed out (to --zoom-range of the "
                         "letterbox's scale; augment.zoomed_out_mosaic: more small nails as real photos show "
                         "them; 0: none, as before)")
    ap.add_argument("--zoom-range", default="%g,%g" % augment.ZOOM_OUT_RANGE,
                    help="--zoom-out's scales, lo,hi times the letterbox's (log-uniform; default %(default)s)")
    ap.add_argument("--lovasz", type=float, default=0.0,
                    help="weight of the Lovasz hinge added to BCE + Dice (lovasz_hinge: a surrogate of 1 - IoU "
                         "that works on the nails' edges; for fine-tuning cycles; 0: off, as before)")
    ap.add_argument("--teacher", default="",
                    help="checkpoint of a network to distil from (e.g. the wider encoder's, "
                         "checkpoints/nailseg-mnv2-w10.pt), run on every training crop in eval mode")
    ap.add_argument("--distill", type=float, default=0.5,
                    help="with --teacher: the teacher's share of the target (distilled_target; the label's "
                         "is 1 - this)")
    ap.add_argument("--eval-sources", default="hands,closeups,fingers,fingertips",
                    help="val sources evaluated during training (for selection)")
    args = ap.parse_args()
    keep_freed_memory()

    device = resolve_device(args.device)
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1")
    enc_rate = encoder_rate(args)  # checked here, not after minutes of loading and weighing
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.workdir, exist_ok=True)

    weights = {k: float(v) for k, v in (kv.split("=") for kv in args.weights.split(","))}
    t_load = time.time()
    train = dataset.load(args.dataset, "train", tuple(weights))
    val = dataset.load(args.dataset, "val", tuple(args.eval_sources.split(",")))
    print(f"dataset loaded in {time.time() - t_load:.0f}s", flush=True)
    by_source = {}
    for s in train:
        by_source.setdefault(s.source, []).append(s)
    print(f"train {len(train)} images {[(k, len(v)) for k, v in by_source.items()]}, val {len(val)}", flush=True)

    neg_train = negatives.load("train") if args.negatives > 0 else []
    nohand = nohand_photos() if args.negatives > 0 else []
    if args.negatives > 0:
        print(f"negatives: {len(neg_train)} training wallpapers plus generated scenes, {args.negatives:.0%} of "
              f"crops; no-hand val {len(nohand)} photos", flush=True)
    if args.arch == "mnv1":
        alpha = args.alpha or 0.25
        model, spec = MobileNetV1Seg(alpha), {"arch": "mnv1", "alpha": alpha}
    elif args.arch == "mnv2":
        alpha, dec = args.alpha or 0.5, tuple(int(w) for w in args.dec.split(","))
        model = MobileNetV2Seg(alpha, args.output_stride, dec)
        spec = {"arch": "mnv2", "alpha": alpha, "output_stride": args.output_stride, "dec": dec}
    else:
        widths = tuple(int(w) for w in args.widths.split(","))
        model, spec = NailNet(widths), {"arch": "nailnet", "widths": widths}
    if args.pretrained and args.init:
        raise SystemExit("--pretrained and --init both set the starting weights: pass one")
    if args.teacher and not 0 < args.distill <= 1:
        raise SystemExit(f"--distill {args.distill}: the teacher's share must be in (0, 1]")

    def calibration_batches():
        # BatchNorm statistics for weights that arrive folded: 16 batches of training
        # crops from a generator of their own (so the training stream is unchanged).
        calib = Synth(by_source, args.crop, args.size, args.seed + 1000, weights)
        it = iter(torch.utils.data.DataLoader(calib, batch_size=args.batch, num_workers=0))
        return (next(it)[0] for _ in range(16))

    if args.pretrained:
        pretrained.load(model, args.pretrained, calibration_batches())
        print(f"encoder from {args.pretrained} (BatchNorm calibrated on 16x{args.batch} crops)", flush=True)
    elif args.init and args.init.endswith(".onnx"):
        # An exported model (BatchNorm folded away): restore it the same way.
        from_onnx.load(model, args.init, calibration_batches())
        print(f"initialised from {args.init} (BatchNorm recalibrated on 16x{args.batch} crops)", flush=True)
    elif args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu")["state"])
        print(f"initialised from {args.init}", flush=True)
    model.to(device)
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    model.to(memory_format=layout)
    print(f"{type(model).__name__}: {count_params(model)} parameters, on {device}", flush=True)
    if args.hard > 0 or args.hard_nails > 0:
        t_hard = time.time()
        with all_cores(args.threads):
            ious, missed = weigh_hard(model, train, args.size, args.hard, per_missed=args.hard_nails)
        print(f"hard-example weights on {len(ious)} photos in {time.time() - t_hard:.0f}s: "
              f"IoU median {np.median(ious):.3f}, {(ious < 0.5).sum()} under 0.5; {missed.sum()} nails missed "
              f"in {(missed > 0).sum()} photos", flush=True)
    groups = param_groups(model, args.lr, enc_rate)
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=args.steps,
                                                pct_start=0.05)
    loader = torch.utils.data.DataLoader(Synth(by_source, args.crop, args.size, args.seed, weights,
                                               neg_train, args.negatives, args.small, args.clean,
                                               args.zoom_out, zoom_range(args.zoom_range)),
                                         batch_size=args.batch, num_workers=args.workers,
                                         pin_memory=device.type == "cuda")
    teacher = None
    if args.teacher:
        teacher = load_teacher(args.teacher, device, layout)
        print(f"distilling from {args.teacher} ({count_params(teacher)} parameters), "
              f"{args.distill:g} of the target", flush=True)
    ema = EMA(model, args.ema) if args.ema > 0 else None
    # The model evaluated and saved: the averaged weights when --ema is set.
    scored = copy.deepcopy(model) if ema else model
    best, best_step, best_res, stale, history = -1.0, 0, None, 0, []
    ckpt = os.path.join(args.workdir, "best.pt")
    t0 = time.time()
    running = 0.0
    for step, (x, y, w) in enumerate(loader, start=1):
        model.train()
        x, y = x.to(device, non_blocking=True, memory_format=layout), y.to(device, non_blocking=True)
        if teacher is not None:
            with torch.no_grad():
                y = distilled_target(y, teacher(x), args.distill)
        loss = loss_fn(model(x), y, w.to(device, non_blocking=True) if args.small > 0 else None, args.lovasz)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if ema:
            ema.update(model)
        running += loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {running / 50:.4f} lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f}s",
                  flush=True)
            running = 0.0
        why = stop_reason(step, args, time.time() - t0)
        if step % args.eval_every == 0 or why:
            if ema:
                ema.copy_to(scored)
            with all_cores(args.threads):
                res = evaluate(scored, val, args.size)
                fp = nohand_rate(scored, nohand, args.size)
            score = selection_score(res, fp)
            history.append({"step": step, "score": round(score, 4), "nohand": round(fp, 5),
                            **{k: v["iou"] for k, v in res.items()}})
            print(f"eval step {step}: score {score:.4f} nohand {fp:.4f} " +
                  " ".join(f"{k}={v['iou']:.3f}/{v['f1']:.2f}" for k, v in res.items()), flush=True)
            if score > best:
                best, best_step, best_res, stale = score, step, res, 0
                torch.save({**spec, "state": cpu_state(scored)}, ckpt)
            else:
                stale += 1
                if stale >= args.patience:
                    print(f"early stop at step {step}: no gain since step {best_step}", flush=True)
                    break
        if why:
            print(why, flush=True)
            break
    # The kept checkpoint's val results are the ones its evaluation produced (the weights
    # saved are the weights evaluated), so they are reported without evaluating it again.
    summary = {"best_step": best_step, "score": round(best, 4), "seconds": round(time.time() - t0),
               "steps_run": step, "args": vars(args), "val": best_res, "history": history}
    with open(os.path.join(args.workdir, "metrics.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(best_res, indent=2), flush=True)


if __name__ == "__main__":
    main()
