"""nailtrain: the library behind tools/train's scripts (train.py, export.py, quantize.py).

- dataset: reads ../shared/datasets/nails (manifest.csv, images, masks, instance maps)
  into memory as Sample objects, and cuts the gaps between touching nails (the target);
- augment: synthesises the training crops (scale, placement, polish, glare, photometric
  jitter), plus the letterbox and normalisation that inference uses;
- model: the encoder-decoders exported to engines/nailseg.onnx: NailNet (from scratch) and
  MobileNetV1Seg (a MobileNetV1 encoder under the same decoder);
- from_onnx: rebuilds a trainable model from an exported ONNX file (train.py --init x.onnx);
- tflite: reads the tensors of a TensorFlow Lite file without TensorFlow;
- pretrained: starts MobileNetV1Seg's encoder from ImageNet weights in such a file
  (train.py --pretrained, tools/train/pretrained/);
- onnxgraph: runs an ONNX graph with torch operators, every tensor visible (calibration);
- qdq: static INT8 quantisation of an export in ONNX's QDQ form (quantize.py);
- metrics: IoU, Dice, boundary F and instance P/R/F1, the same definitions as tools/eval.

Nothing here keeps state between calls: settings (source weights, seeds) are passed as
arguments, and module constants are read-only.
"""
