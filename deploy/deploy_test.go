package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/option"
	"github.com/nailtrt/nailtrt/server"
)

// The parts of the Kubernetes objects the checks read (the schemas check the rest).
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Selector any `yaml:"selector"` // Service: a map; others: matchLabels
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Name       string `yaml:"name"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
		// NetworkPolicy
		PodSelector any      `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []struct {
			From []struct {
				PodSelector       any `yaml:"podSelector"`
				NamespaceSelector any `yaml:"namespaceSelector"`
				IPBlock           any `yaml:"ipBlock"`
			} `yaml:"from"`
			Ports []struct {
				Port any `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
		Egress         []any `yaml:"egress"`
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		Metrics []struct {
			Pods struct {
				Metric struct {
					Name string `yaml:"name"`
				} `yaml:"metric"`
			} `yaml:"pods"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

type container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Args []string `yaml:"args"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe   *probe `yaml:"startupProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop struct {
			Sleep struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

// secretRef is the Secret key the variable name is read from; nil when it is not.
func (c container) secretRef(name string) *keyRef {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func loadObjects(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err, f)
			}
			out = append(out, o)
		}
	}
	return out
}

func source(t *testing.T, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range paths {
		files, err := filepath.Glob(filepath.Join("..", p))
		require.NoError(t, err)
		require.NotEmpty(t, files, p)
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			b.Write(data)
		}
	}
	return b.String()
}

// bytesOf parses the Kubernetes quantities used here (plain, Ki/Mi/Gi) to bytes.
func bytesOf(t *testing.T, q string) int64 {
	t.Helper()
	mult := map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "": 1}
	m := regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|)$`).FindStringSubmatch(q)
	require.NotNil(t, m, "quantity %q", q)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n * mult[m[2]]
}

func cpuOf(t *testing.T, q string) float64 {
	t.Helper()
	if m, ok := strings.CutSuffix(q, "m"); ok {
		v, err := strconv.ParseFloat(m, 64)
		require.NoError(t, err, q)
		return v / 1000
	}
	v, err := strconv.ParseFloat(q, 64)
	require.NoError(t, err, q)
	return v
}

func matches(selector any, labels map[string]string) bool {
	sel, _ := selector.(map[string]any)
	if ml, ok := sel["matchLabels"].(map[string]any); ok {
		sel = ml
	}
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// The nailtrt Deployments set only options the server reads, probe routes it serves,
// on the port it listens on, within memory bounds that hold together.
func TestDeploymentsMatchTheServer(t *testing.T) {
	cli := source(t, "cmd/nailtrt/*.go")
	routes := source(t, "server/routes.go")
	var deployments int
	for _, o := range loadObjects(t) {
		if o.Kind != "Deployment" || o.Metadata.Name == "nailtrt-redis" {
			continue
		}
		deployments++
		name := o.Metadata.Name
		require.Len(t, o.Spec.Template.Spec.Containers, 1, name)
		c := o.Spec.Template.Spec.Containers[0]
		assert.True(t, matches(o.Spec.Selector, o.Spec.Template.Metadata.Labels), "%s: selector matches its pods", name)
		// Each variable is one of the runtime's or the server's options and its value
		// parses as that option's (NAILTRT_BATCH_DELAY=1000 has no unit: refused), or
		// one the command itself reads (the log and memory-limit settings).
		var model segment.Config
		var cfg server.Config
		opts := append(model.Options(), cfg.Options()...)
		for _, e := range c.Env {
			if !strings.HasPrefix(e.Name, "NAILTRT_") {
				continue
			}
			if o, ok := option.Lookup(opts, e.Name); ok {
				if e.Value != "" {
					assert.NoError(t, o.Value.Set(e.Value), "%s: %s=%q", name, e.Name, e.Value)
				}
				continue
			}
			assert.True(t, strings.Contains(cli, `"`+e.Name+`"`), "%s sets %s, which nailtrt does not read", name, e.Name)
		}
		// Port: the container port is the listen address's, and the probes use it.
		require.Len(t, c.Ports, 1, name)
		addr, _ := c.env("NAILTRT_ADDR")
		assert.Equal(t, fmt.Sprintf(":%d", c.Ports[0].ContainerPort), addr, "%s: containerPort = NAILTRT_ADDR", name)
		probes := map[string]*probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
		want := map[string]string{"startup": "/readyz", "readiness": "/readyz", "liveness": "/healthz"}
		for kind, p := range probes {
			require.NotNil(t, p, "%s: %s probe", name, kind)
			require.NotNil(t, p.HTTPGet, "%s: %s probe over HTTP", name, kind)
			assert.Equal(t, want[kind], p.HTTPGet.Path, "%s: %s probe route", name, kind)
			assert.True(t, strings.Contains(routes, `"`+p.HTTPGet.Path+`"`), "the server serves %s", p.HTTPGet.Path)
			assert.Equal(t, c.Ports[0].Name, p.HTTPGet.Port, "%s: %s probe port", name, kind)
		}
		// Memory: budgets < Go's soft limit < the container's limit.
		atoi := func(v string) int64 {
			var n int64
			require.NoError(t, option.Bytes(&n).Set(v), v)
			return n
		}
		budget, ok1 := c.env("NAILTRT_MEMORY_BUDGET")
		uploads, ok2 := c.env("NAILTRT_UPLOAD_BUDGET")
		soft, ok3 := c.env("NAILTRT_MEMORY_LIMIT")
		require.True(t, ok1 && ok2 && ok3, "%s sets the memory budgets and limit", name)
		limit := bytesOf(t, c.Resources.Limits["memory"])
		assert.Less(t, atoi(budget)+atoi(uploads), atoi(soft), "%s: the budgets fit under the Go limit", name)
		assert.Less(t, atoi(soft), limit, "%s: the Go limit is under the container's", name)
		assert.LessOrEqual(t, bytesOf(t, c.Resources.Requests["memory"]), limit, name)
		assert.GreaterOrEqual(t, bytesOf(t, c.Resources.Requests["memory"]), int64(256<<20),
			"%s: requests cover the measured resident memory under load (~250 MiB)", name)
		assert.LessOrEqual(t, cpuOf(t, c.Resources.Requests["cpu"]), cpuOf(t, c.Resources.Limits["cpu"]), name)
		// Shutdown: the grace period covers the preStop pause and the server's own
		// shutdown timeout (30 s by default).
		assert.Greater(t, o.Spec.Template.Spec.TerminationGracePeriodSeconds, 30+c.Lifecycle.PreStop.Sleep.Seconds, name)

		backend, _ := c.env("NAILTRT_BACKEND")
		gpu, hasGPU := c.Resources.Limits["nvidia.com/gpu"]
		if backend == "tensorrt" {
			assert.True(t, hasGPU, "%s: TensorRT needs a GPU", name)
			assert.Equal(t, "1", gpu, "%s: one process per GPU", name)
			assert.Equal(t, c.Resources.Requests["nvidia.com/gpu"], gpu, name)
		} else {
			assert.False(t, hasGPU, "%s: a CPU replica asks for no GPU", name)
		}
	}
	assert.Equal(t, 2, deployments, "the CPU and the GPU variant")
}

// Service, PodDisruptionBudget and HPA point at the pods and metrics that exist.
func TestServicesAndScalingPointAtReplicas(t *testing.T) {
	objs := loadObjects(t)
	metricsSrc := source(t, "server/metrics.go")
	pods := map[string]map[string]string{}
	ports := map[string]bool{}
	for _, o := range objs {
		if o.Kind == "Deployment" {
			pods[o.Metadata.Name] = o.Spec.Template.Metadata.Labels
			for _, c := range o.Spec.Template.Spec.Containers {
				for _, p := range c.Ports {
					ports[o.Metadata.Name+"/"+p.Name] = true
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, o := range objs {
		seen[o.Kind] = true
		switch o.Kind {
		case "Service", "PodDisruptionBudget":
			n := 0
			for dep, labels := range pods {
				if matches(o.Spec.Selector, labels) {
					n++
					for _, p := range o.Spec.Ports {
						assert.True(t, ports[dep+"/"+fmt.Sprint(p.TargetPort)], "%s %s: target port %v on %s", o.Kind, o.Metadata.Name, p.TargetPort, dep)
					}
				}
			}
			assert.Positive(t, n, "%s %s selects pods", o.Kind, o.Metadata.Name)
		case "HorizontalPodAutoscaler":
			ref := o.Spec.ScaleTargetRef
			assert.Equal(t, "Deployment", ref.Kind)
			assert.Contains(t, pods, ref.Name, "the HPA scales a Deployment that exists")
			for _, m := range o.Spec.Metrics {
				assert.True(t, strings.Contains(metricsSrc, `"`+m.Pods.Metric.Name+`"`), "the server exports %s", m.Pods.Metric.Name)
			}
		}
	}
	for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} {
		assert.True(t, seen[k], "a %s", k)
	}
}

// The shared cache is not trusted, and Redis is not open (issue 31): Redis needs a
// password from a Secret and gives its user only nailtrt's commands on nailtrt's keys;
// a NetworkPolicy admits nailtrt pods alone; the nailtrt Deployments read the URL and
// the MAC secret from Secrets, and the MAC secret is one Redis never sees. No file
// holds a credential.
func TestRedisIsLockedDown(t *testing.T) {
	objs := loadObjects(t)
	var redis *container
	var redisLabels map[string]string
	nailtrt := map[string]map[string]string{}
	for _, o := range objs {
		assert.NotEqual(t, "Secret", o.Kind, "%s: credentials are created with kubectl, never committed", o.Metadata.Name)
		if o.Kind != "Deployment" {
			continue
		}
		if o.Metadata.Name == "nailtrt-redis" {
			require.Len(t, o.Spec.Template.Spec.Containers, 1)
			redis, redisLabels = &o.Spec.Template.Spec.Containers[0], o.Spec.Template.Metadata.Labels
			continue
		}
		nailtrt[o.Metadata.Name] = o.Spec.Template.Metadata.Labels
		c := o.Spec.Template.Spec.Containers[0]
		url, mac := c.secretRef("NAILTRT_REDIS_URL"), c.secretRef("NAILTRT_REDIS_SECRET")
		require.NotNil(t, url, "%s: NAILTRT_REDIS_URL (it holds the password) comes from a Secret", o.Metadata.Name)
		require.NotNil(t, mac, "%s: NAILTRT_REDIS_SECRET comes from a Secret", o.Metadata.Name)
		assert.True(t, url.Optional && mac.Optional, "%s: the shared cache stays optional", o.Metadata.Name)
		assert.Equal(t, "nailtrt-redis", url.Name, o.Metadata.Name)
		assert.NotEqual(t, url.Name, mac.Name, "%s: the MAC secret is not in the Secret Redis reads", o.Metadata.Name)
	}
	require.NotNil(t, redis, "redis.yaml's Deployment")
	require.Len(t, nailtrt, 2)

	pw := redis.secretRef("REDIS_PASSWORD")
	require.NotNil(t, pw, "Redis's password comes from a Secret")
	assert.Equal(t, "nailtrt-redis", pw.Name)
	assert.False(t, pw.Optional, "Redis never starts without its password")
	args := strings.Join(redis.Args, " ")
	assert.Contains(t, args, "--user default off", "no unauthenticated access")
	assert.Contains(t, args, "--user nailtrt on >$(REDIS_PASSWORD) ~nailtrt:* resetchannels -@all +", "one user, nailtrt's keys, named commands")
	assert.NotContains(t, args, "requirepass", "ACL users, not the shared default password")
	// The keys the ACL grants are the ones nailtrt writes.
	assert.Contains(t, source(t, "server/shared_cache.go"), `"nailtrt:result:v"`)
	// The URL documented for the Secret is the user, the Service and its port.
	assert.Contains(t, source(t, "deploy/kubernetes/redis.yaml"), `--from-literal=url="redis://nailtrt:$pw@nailtrt-redis:6379/0"`)
	assert.Contains(t, source(t, "deploy/kubernetes/redis.yaml"), "rediss://", "TLS is documented")

	policies := 0
	for _, o := range objs {
		if o.Kind != "NetworkPolicy" || !matches(o.Spec.PodSelector, redisLabels) {
			continue
		}
		policies++
		assert.ElementsMatch(t, []string{"Ingress", "Egress"}, o.Spec.PolicyTypes, "%s: both directions", o.Metadata.Name)
		assert.Empty(t, o.Spec.Egress, "%s: Redis connects to nothing", o.Metadata.Name)
		require.Len(t, o.Spec.Ingress, 1, o.Metadata.Name)
		in := o.Spec.Ingress[0]
		require.Len(t, in.From, 1, o.Metadata.Name)
		from := in.From[0]
		assert.Nil(t, from.NamespaceSelector, "only pods of this namespace")
		assert.Nil(t, from.IPBlock)
		for name, labels := range nailtrt {
			assert.True(t, matches(from.PodSelector, labels), "%s pods may reach Redis", name)
		}
		assert.False(t, matches(from.PodSelector, redisLabels), "the admitted pods are nailtrt's, not any pod")
		require.Len(t, in.Ports, 1)
		assert.Equal(t, redis.Ports[0].Name, in.Ports[0].Port, "the Redis port only")
	}
	assert.Equal(t, 1, policies, "one NetworkPolicy selects the Redis pods")
}

// A lint of the Dockerfile, for want of a registry to build it against here (README
// "Scaling out"): multi-stage, pinned bases, non-root, exec-form entrypoint, no remote
// ADD, apt lists cleaned, and it copies what the Makefile really builds.
func TestDockerfile(t *testing.T) {
	src := source(t, "Dockerfile")
	var froms, stages []string
	user := ""
	for _, line := range strings.Split(src, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			assert.Contains(t, f[1], ":", "base %s has a tag", f[1])
			assert.NotContains(t, f[1], ":latest", "base %s is pinned", f[1])
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				stages = append(stages, f[3])
			}
			user = ""
		case "USER":
			user = f[1]
		case "ADD":
			assert.NotRegexp(t, `https?://`, line, "no remote ADD")
		case "COPY":
			if from, ok := strings.CutPrefix(f[1], "--from="); ok {
				assert.Contains(t, stages, from, "COPY --from a stage defined earlier")
			}
		case "ENTRYPOINT":
			assert.True(t, strings.HasPrefix(f[1], "["), "exec form: SIGTERM reaches nailtrt")
		}
	}
	assert.GreaterOrEqual(t, len(froms), 2, "multi-stage")
	require.NotEmpty(t, user, "the runtime stage sets a user")
	uid, err := strconv.Atoi(strings.Split(user, ":")[0])
	require.NoError(t, err, "numeric user (runAsNonRoot can verify it)")
	assert.NotZero(t, uid)
	assert.Equal(t, strings.Count(src, "apt-get install"), strings.Count(src, "rm -rf /var/lib/apt/lists/*"), "apt lists removed in each layer")
	assert.Equal(t, strings.Count(src, "apt-get install"), strings.Count(src, "--no-install-recommends"))
	// What the build stage copies out is what make build produces: the native
	// libraries (built before the Go tests run) and the binary at $(BIN).
	makefile := source(t, "Makefile")
	for _, p := range []string{"build/native/lib/libnailtrt.so", "build/native/lib/libonnxruntime.so.1"} {
		assert.True(t, strings.Contains(src, p))
		if _, err := os.Stat(filepath.Join("..", p)); err != nil {
			t.Errorf("%s is not what the native build produces here: %v", p, err)
		}
	}
	assert.True(t, strings.Contains(src, "cp bin/nailtrt ") && strings.Contains(makefile, "BIN         := $(ROOT)/bin/nailtrt"),
		"the binary is where make build writes it")
	assert.True(t, strings.Contains(makefile, "$(CMAKE_ARGS)"), "the Makefile passes CMAKE_ARGS to CMake")
	ignore := source(t, ".dockerignore")
	for _, p := range []string{"build/", "bin/", "third_party/"} {
		assert.True(t, strings.Contains(ignore, p), "the build context leaves out %s", p)
	}
	// The runtime finds its libraries next to the binary (rpath $ORIGIN/lib).
	assert.Contains(t, source(t, "trt/link_intree.go"), `-Wl,-rpath,$ORIGIN/lib`)
	assert.True(t, strings.Contains(src, "/out/lib/") && strings.Contains(src, "COPY --from=build /out/ /opt/nailtrt/"),
		"the libraries land in /opt/nailtrt/lib beside the binary")
}
