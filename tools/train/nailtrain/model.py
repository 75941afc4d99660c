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


def conv_bn6(cin, cout, k=3, stride=1, groups=1, dilation=1, act=True):
    """conv_bn with ReLU6, MobileNetV2's activation (Clip in ONNX, which ONNX Runtime and
    TensorRT fuse into the convolution like ReLU)."""
    layers = list(conv_bn(cin, cout, k, stride, groups, dilation, act=False))
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand (ReLU6; absent when t = 1), 3x3 depthwise (ReLU6),
    linear 1x1 projection, and a residual when the shape is kept."""

    def __init__(self, cin, cout, t, stride=1, dilation=1):
        super().__init__()
        hidden = cin * t
        layers = [conv_bn6(cin, hidden, 1)] if t != 1 else []
        layers += [conv_bn6(hidden, hidden, 3, stride, groups=hidden, dilation=dilation),
                   conv_bn(hidden, cout, 1, act=False)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


# MobileNetV2's blocks (expansion t, output channels at width 1.0, repeats, stride of the
# first), as in Sandler et al. 2018 and the DeepLabV3 TFLite files pretrained.py reads.
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2Seg(UNetDecoder):
    """MobileNetV2 (width alpha, DeepLabV3's encoder without its last 1x1) under a U-Net
    decoder, so it can start from DeepLabV3's PASCAL VOC weights (people among its 20
    classes: the encoder already tells skin and hands from the rest of a scene).

    output_stride 32 runs blocks 13-16 strided, as MobileNetV2 was designed; 16 keeps them
    at 1/16 with dilation 2, as DeepLab trained them (what pretrained.deeplab_logits needs
    to reproduce the file's own segmentation). The issue's calibration run scored both the
    same, and 32 is ~15% cheaper at 512x512.

    Skips are taken at strides 2, 4, 8 and 16 (after blocks 0, 2, 5 and 12, the last block
    at each scale) and the decoder's widths are its own (dec), wider than the encoder's
    narrow early stages (8 and 12 channels at width 0.5), because the small nails are
    decided at those resolutions.
    """
    arch = "mnv2"
    SKIPS = (0, 2, 5, 12, 16)

    def __init__(self, alpha=0.5, output_stride=32, dec=(16, 24, 32, 64)):
        super().__init__()
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride {output_stride}: expected 16 or 32")
        self.alpha, self.output_stride, self.dec = alpha, output_stride, tuple(dec)
        c0 = int(32 * alpha)
        self.conv0 = conv_bn6(3, c0, 3, 2)
        blocks, cin, widths = [], c0, []
        for t, c, n, s in MOBILENET_V2_STAGES:
            cout = max(8, int(c * alpha))  # DeepLab divides without rounding to 8s: 12 at 0.5
            for i in range(n):
                stride, dilation = (s if i == 0 else 1), 1
                if output_stride == 16 and len(blocks) >= 13:
                    stride, dilation = 1, 2
                blocks.append(InvertedResidual(cin, cout, t, stride, dilation))
                cin = cout
                widths.append(cout)
        self.blocks = nn.ModuleList(blocks)
        self.enc_widths = tuple(widths[i] for i in self.SKIPS)
        e1, e2, e3, e4, e5 = self.enc_widths
        d1, d2, d3, d4 = self.dec
        self.up4 = Up(e5, e4, d4)
        self.up3 = Up(d4, e3, d3)
        self.up2 = Up(d3, e2, d2)
        self.up1 = Up(d2, e1, d1)
        self.head = nn.Conv2d(d1, 1, 1)

    def features(self, x):
        f, feats = self.conv0(x), []
        for i, block in enumerate(self.blocks):
            f = block(f)
            if i in self.SKIPS:
                feats.append(f)
        return feats

    def forward(self, x):
        return self.decode(x.shape[-2:], *self.features(x))


def build(ckpt):
    """The model a checkpoint dict describes (arch "nailnet" with widths, "mnv1" with
    alpha, "mnv2" with alpha, output_stride and dec); checkpoints from before the arch
    field are NailNets."""
    arch = ckpt.get("arch", "nailnet")
    if arch == "nailnet":
        return NailNet(tuple(ckpt["widths"]))
    if arch == "mnv1":
        return MobileNetV1Seg(float(ckpt["alpha"]))
    if arch == "mnv2":
        return MobileNetV2Seg(float(ckpt["alpha"]), int(ckpt["output_stride"]), tuple(ckpt["dec"]))
    raise ValueError(f"unknown architecture {arch!r} (expected nailnet, mnv1 or mnv2)")


def count_params(model):
    return sum(p.numel() for p in model.parameters())
