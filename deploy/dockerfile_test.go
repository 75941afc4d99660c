package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	stage string // the stage it belongs to ("" before the first FROM ... AS)
	op    string // upper case
	args  []string
	line  string
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank lines
// dropped, lines ending in a backslash joined to the next.
func parseDockerfile(t *testing.T, src string) []instruction {
	var out []instruction
	stage, cur := "", ""
	for _, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cur += line
		f := strings.Fields(cur)
		ins := instruction{op: strings.ToUpper(f[0]), args: f[1:], line: strings.Join(f, " ")}
		if ins.op == "FROM" {
			stage = ""
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				stage = f[3]
			}
		}
		ins.stage = stage
		out = append(out, ins)
		cur = ""
	}
	require.Empty(t, cur, "the Dockerfile ends inside a continued line")
	return out
}

// Every path the Dockerfile copies exists: from the build context, a file or folder of
// the repository that .dockerignore leaves in; from another stage, a path that stage's
// RUN steps create. (Nothing builds the image here, so this is what stands in for
// docker build failing on a missing COPY source.)
func TestDockerfileCopiesWhatExists(t *testing.T) {
	src := source(t, "Dockerfile")
	ignore := strings.Fields(source(t, ".dockerignore"))
	ins := parseDockerfile(t, src)
	copies := 0
	for _, in := range ins {
		if in.op != "COPY" && in.op != "ADD" {
			continue
		}
		var from string
		var paths []string
		for _, a := range in.args {
			switch {
			case strings.HasPrefix(a, "--from="):
				from = strings.TrimPrefix(a, "--from=")
			case strings.HasPrefix(a, "--"):
			default:
				paths = append(paths, a)
			}
		}
		require.GreaterOrEqual(t, len(paths), 2, "%s: sources and a destination", in.line)
		for _, p := range paths[:len(paths)-1] {
			copies++
			if from != "" {
				made := false
				for _, r := range ins {
					if r.stage == from && r.op == "RUN" && strings.Contains(r.line, strings.TrimSuffix(p, "/")) {
						made = true
					}
				}
				assert.True(t, made, "%s: stage %s never writes %s", in.line, from, p)
				continue
			}
			_, err := os.Stat(filepath.Join("..", p))
			assert.NoError(t, err, "%s: %s is not in the repository", in.line, p)
			for _, ig := range ignore {
				if !strings.HasPrefix(ig, "#") && p != "." && strings.TrimSuffix(ig, "/") == strings.TrimSuffix(p, "/") {
					t.Errorf("%s: .dockerignore leaves %s out of the build context", in.line, p)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, copies, 3, "go.mod, go.sum, the tree and the build's output")
}

func TestParseDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "# c\nFROM a:1 AS one\nRUN x \\\n  && y\n\nFROM b:2\nCOPY --from=one /o/ /p/\n")
	require.Len(t, ins, 4)
	assert.Equal(t, "RUN x && y", ins[1].line)
	assert.Equal(t, "one", ins[1].stage)
	assert.Equal(t, "", ins[3].stage)
	assert.Equal(t, []string{"--from=one", "/o/", "/p/"}, ins[3].args)
}
