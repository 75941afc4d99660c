// Command kubeschema turns the Kubernetes API's OpenAPI (swagger 2.0) document into the
// per-kind, standalone, strict JSON schemas kubeconform reads, so that `make test` can
// validate deploy/kubernetes with no network: the document comes from the Go module
// proxy (k8s.io/kubernetes, api/openapi-spec/swagger.json), pinned by version and
// SHA-256 in the Makefile.
//
// It does what yannh/kubernetes-json-schema's openapi2jsonschema does for kubeconform:
// one file per group/version/kind named <kind>-<group>-<version>.json (<kind>-<version>
// for the core group), each carrying the definitions it references; objects refuse
// properties they do not declare (strict); int-or-string and quantities accept both
// YAML forms.
//
//	go run ./tools/kubeschema -in swagger.json -out build/kubeschema
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	in := flag.String("in", "", "Kubernetes swagger.json")
	out := flag.String("out", "build/kubeschema", "output folder")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "kubeschema:", err)
		os.Exit(1)
	}
}

type gvk struct{ Group, Version, Kind string }

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(doc.Definitions) == 0 {
		return fmt.Errorf("%s has no definitions", in)
	}
	for _, d := range doc.Definitions {
		fix(d)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for name, d := range doc.Definitions {
		for _, k := range kinds(d) {
			defs := map[string]any{}
			refs(d, doc.Definitions, defs)
			schema := map[string]any{}
			for key, v := range d {
				schema[key] = v
			}
			schema["$schema"] = "http://json-schema.org/draft-04/schema#"
			schema["definitions"] = defs
			file := filepath.Join(out, fileName(k))
			data, err := json.Marshal(schema)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("kubeschema: %d schemas in %s\n", n, out)
	return nil
}

// fileName follows kubeconform's {{.ResourceKind}}{{.KindSuffix}}: the kind in lower
// case, then the group's first label and the version.
func fileName(k gvk) string {
	name := strings.ToLower(k.Kind)
	if k.Group != "" {
		name += "-" + strings.ToLower(strings.Split(k.Group, ".")[0])
	}
	return name + "-" + strings.ToLower(k.Version) + ".json"
}

func kinds(d map[string]any) []gvk {
	list, _ := d["x-kubernetes-group-version-kind"].([]any)
	var out []gvk
	for _, e := range list {
		m, _ := e.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if k != "" && v != "" {
			out = append(out, gvk{g, v, k})
		}
	}
	return out
}

// fix makes one schema strict and YAML-friendly, recursively.
func fix(s map[string]any) {
	if s["format"] == "int-or-string" {
		delete(s, "type")
		delete(s, "format")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				fix(m)
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if m, ok := s[key].(map[string]any); ok {
			fix(m)
		}
	}
}

// refs collects every definition s refers to, transitively, into defs.
func refs(s any, all map[string]map[string]any, defs map[string]any) {
	switch v := s.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(r, "#/definitions/")
			if _, seen := defs[name]; !seen {
				d := all[name]
				if name == "io.k8s.apimachinery.pkg.api.resource.Quantity" {
					// "cpu: 2" is a YAML integer; the API server takes it.
					d = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
				}
				defs[name] = d
				refs(d, all, defs)
			}
		}
		for _, c := range v {
			refs(c, all, defs)
		}
	case []any:
		for _, c := range v {
			refs(c, all, defs)
		}
	}
}
