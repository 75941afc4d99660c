// Command eval measures a model over a split of the nails dataset through the Go
// pipeline and the native runner: what is measured is exactly what users get.
//
//	go run ./tools/eval --model engines/nailseg.json --split val
//	make eval                      # the same, for the bundled model
//
// Metrics, per source and overall (definitions shared with tools/train/nailtrain/metrics.py;
// both score the golden fixture in testdata/golden identically, tested on each side):
// nail IoU and Dice over all pixels of the split; boundary F-score with a tolerance of
// max(1, ceil(0.005 x image diagonal)) pixels; instance precision, recall and F1, where a
// predicted nail matches a true one at IoU >= 0.5. True nails are the row's instance map
// where it has one (so touching nails stay apart), else the mask's 8-connected components.
// --write-manifest stores the table in the manifest's "metrics".
package main
