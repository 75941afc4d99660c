"""NailNet: a compact encoder-decoder for binary nail segmentation.

Why this shape:
- Depthwise-separable 3x3 convolutions (MobileNet style) carry most of the work: on a CPU
  they cost ~1/8 of a dense 3x3 at the same width, which is what keeps a 512x512 inference
  (the bundled input size) around 10 ms a pass on two cores.
- Five encoder stages down to 1/32 give the receptive field needed to tell a nail from a
  skin highlight (it must see the fingertip around it); two dilated blocks at 1/16 and 1/32
  widen it further for free.
- A U-Net style decoder adds projected skips back up to 1/2 resolution: nails on a hand
  photographed from afar are only a few pixels wide, so the mask must come from high
  resolution features, not from the coarse context alone.
- The head predicts one logit map at 1/2 and upsamples it bilinearly to the input size
  inside the graph, so every runtime gets a [N,1,H,W] map the decoder can read directly.
- Plain ReLU and BatchNorm: both fold or fuse in ONNX Runtime and TensorRT.
"""
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k=3, stride=1, groups=1, dilation=1, act=True):
    pad = dilation * (k - 1) // 2
    layers = [nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DSBlock(nn.Module):
    """Depthwise 3x3 + pointwise 1x1, with a residual when the shape is kept."""

    def __init__(self, cin, cout, stride=1, dilation=1, residual=True):
        super().__init__()
        self.dw = conv_bn(cin, cin, 3, stride, groups=cin, dilation=dilation)
        self.pw = conv_bn(cin, cout, 1, act=False)
        self.residual = residual and stride == 1 and cin == cout
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.pw(self.dw(x))
        if self.residual:
            y = y + x
        return self.act(y)


class Up(nn.Module):
    """Upsample the deeper map x2 and add the projected skip, then refine."""

    def __init__(self, cdeep, cskip, cout):
        super().__init__()
        self.proj_deep = conv_bn(cdeep, cout, 1, act=False)
        self.proj_skip = conv_bn(cskip, cout, 1, act=False)
        self.refine = DSBlock(cout, cout)

    def forward(self, deep, skip):
        deep = F.interpolate(self.proj_deep(deep), size=skip.shape[-2:], mode="bilinear",
                             align_corners=False)
        return self.refine(F.relu(deep + self.proj_skip(skip)))


class UNetDecoder(nn.Module):
    """The decoder both encoders share: Up blocks from 1/32 back to 1/2, a one-logit head,
    and a bilinear upsample to the input size. A base class (not a child module) so the
    weights keep the names (up4 ... head) that checkpoints of earlier releases use."""

    def build_decoder(self, widths):
        c1, c2, c3, c4, c5 = widths
        self.up4 = Up(c5, c4, c3)
        self.up3 = Up(c3, c3, c2)
        self.up2 = Up(c2, c2, c1)
        self.up1 = Up(c1, c1, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    def decode(self, size, f1, f2, f3, f4, f5):
        d = self.up4(f5, f4)
        d = self.up3(d, f3)
        d = self.up2(d, f2)
        d = self.up1(d, f1)
        return F.interpolate(self.head(d), size=size, mode="bilinear", align_corners=False)


class NailNet(UNetDecoder):
    """The from-scratch encoder (nailseg 1.x and 2.x)."""
    arch = "nailnet"

    def __init__(self, widths=(16, 32, 48, 96, 128)):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.stem = nn.Sequential(conv_bn(3, c1, 3, 2), DSBlock(c1, c1))            # 1/2
        self.s2 = nn.Sequential(DSBlock(c1, c2, 2), DSBlock(c2, c2))                # 1/4
        self.s3 = nn.Sequential(DSBlock(c2, c3, 2), DSBlock(c3, c3))                # 1/8
        self.s4 = nn.Sequential(DSBlock(c3, c4, 2), DSBlock(c4, c4), DSBlock(c4, c4, dilation=2))  # 1/16
        self.s5 = nn.Sequential(DSBlock(c4, c5, 2), DSBlock(c5, c5), DSBlock(c5, c5, dilation=2))  # 1/32
        self.build_decoder(widths)

    def forward(self, x):
        f1 = self.stem(x)
        f2 = self.s2(f1)
        f3 = self.s3(f2)
        f4 = self.s4(f3)
        f5 = self.s5(f4)
        return self.decode(x.shape[-2:], f1, f2, f3, f4, f5)


# MobileNetV1's separable blocks 1..13 (output channels at width 1.0, stride), as in
# Howard et al. 2017 and the TFLite files pretrained.py reads.
MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                       (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


class MobileNetV1Seg(UNetDecoder):
    """MobileNetV1 (width alpha) as the encoder, so it can start from ImageNet weights
    (nailtrain.pretrained), under NailNet's decoder.

    The encoder is MobileNetV1 as published (no residuals; ReLU where the original has
    ReLU6, so the graph keeps the operators the INT8 path and onnxgraph handle; the
    ImageNet classifier still works on the dequantised weights with plain ReLU). Skips are
    taken after blocks 1, 3, 5, 11 and 13: the last full-width block at each scale.
    """
    arch = "mnv1"
    SKIPS = (1, 3, 5, 11, 13)

    def __init__(self, alpha=0.25):
        super().__init__()
        self.alpha = alpha
        c0 = int(32 * alpha)
        self.conv0 = conv_bn(3, c0, 3, 2)
        blocks, cin = [], c0
        for cout, stride in MOBILENET_V1_BLOCKS:
            cout = int(cout * alpha)
            blocks.append(DSBlock(cin, cout, stride, residual=False))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        widths = tuple(int(MOBILENET_V1_BLOCKS[i - 1][0] * alpha) for i in self.SKIPS)
        self.build_decoder(widths)

    def forward(self, x):
        f, feats = self.conv0(x), []
        for i, block in enumerate(self.blocks, start=1):
            f = block(f)
            if i in self.SKIPS:
                feats.append(f)
        return self.decode(x.shape[-2:], *feats)


def build(ckpt):
    """The model a checkpoint dict describes (arch "nailnet" with widths, or "mnv1" with
    alpha); checkpoints from before the arch field are NailNets."""
    arch = ckpt.get("arch", "nailnet")
    if arch == "nailnet":
        return NailNet(tuple(ckpt["widths"]))
    if arch == "mnv1":
        return MobileNetV1Seg(float(ckpt["alpha"]))
    raise ValueError(f"unknown architecture {arch!r} (expected nailnet or mnv1)")


def count_params(model):
    return sum(p.numel() for p in model.parameters())
