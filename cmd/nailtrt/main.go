// Command nailtrt is the one binary: the HTTP server and the tools around the pipeline.
//
//	nailtrt serve                         the HTTP API (see --help for every option)
//	nailtrt segment photo.jpg             nails as JSON on stdout
//	nailtrt render photo.jpg -o out.jpg   polish painted on
//	nailtrt info                          backends, GPUs, the model's tensors
//	nailtrt bench                         latency and throughput, of the pipeline or a server
//	nailtrt build-engine                  ONNX -> TensorRT plan into the plan cache
//	nailtrt version                       versions of nailtrt, the bundled model, the libraries
//
// Every option is a flag and a NAILTRT_* environment variable; flags win.
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nailtrt/nailtrt/internal/textdist"
)

// processStart is as close to exec as Go gets: start-up times are measured from it.
var processStart = time.Now()

type command struct {
	name, summary string
	run           func(args []string) error
}

var commands = []command{
	{"serve", "run the HTTP server", runServe},
	{"segment", "find nails in a photo and print JSON", runSegment},
	{"render", "paint polish on a photo", runRender},
	{"info", "show backends, GPUs and the model's tensors", runInfo},
	{"bench", "measure latency and throughput (pipeline or a running server)", runBench},
	{"build-engine", "build a TensorRT plan from ONNX into the plan cache", runBuildEngine},
	{"version", "print the versions of nailtrt, the bundled model and the native libraries", runVersion},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: nailtrt <command> [options]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\n`nailtrt <command> --help` lists the command's options and their NAILTRT_* variables.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	if os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stdout)
		return
	}
	if os.Args[1] == "--version" || os.Args[1] == "-version" {
		os.Args[1] = "version"
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:]); err != nil {
				switch err {
				case errHelp:
					return
				case errUsage:
					os.Exit(2)
				}
				fmt.Fprintf(os.Stderr, "nailtrt %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	if near := textdist.Nearest(os.Args[1], names); near != "" {
		fmt.Fprintf(os.Stderr, "nailtrt: unknown command %q: did you mean %q?\n\n", os.Args[1], near)
	} else {
		fmt.Fprintf(os.Stderr, "nailtrt: unknown command %q\n\n", os.Args[1])
	}
	usage(os.Stderr)
	os.Exit(2)
}
