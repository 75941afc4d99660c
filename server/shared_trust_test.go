package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"image"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/nailtrt/nailtrt/nails"
)

// The shared cache is an untrusted input (issue 31): whatever Redis holds or answers,
// a value is used only when it is sealed to its key, decodes within the codec's limits
// and is for the photo's size; reads are bounded in bytes; nothing it does can end the
// process. Each refusal is a miss the model answers, counted by reason.

const testSecret = "0123456789abcdef0123456789abcdef"

// sharedKeyOf is the Redis key s stores img's result under.
func sharedKeyOf(t *testing.T, s *Server, img []byte) string {
	t.Helper()
	_, seg, _ := s.model.status()
	require.NotNil(t, seg)
	return sharedKey(cacheKey(img, seg.Manifest().CacheID()))
}

// rejected is how many values s refused for reason (one of rejectReasons).
func rejected(s *Server, reason string) int64 {
	for i, r := range rejectReasons {
		if r == reason {
			return s.cache.shared.rejected[i].Load()
		}
	}
	panic("no reason " + reason)
}

// A value stored under photo B's key but holding photo A's result, a damaged value, and
// one sealed under another secret (or none) are misses: the model answers, and the
// refusal is counted. With no secret the keyless digest still catches all but the last.
func TestSharedCacheRefusesValuesNotSealedToTheirKey(t *testing.T) {
	for _, secret := range []string{"", testSecret} {
		name := map[string]string{"": "without a secret", testSecret: "with a secret"}[secret]
		t.Run(name, func(t *testing.T) {
			rs := startRedis(t)
			cfg := Config{RedisSecret: secret}
			a := sharedServer(t, rs, cfg)
			imgA, imgB := photoJPEG(t, 96, 72, 1), photoJPEG(t, 96, 72, 2)
			wantA, _ := segmentJSON(t, a, imgA, nil)
			wantB, _ := segmentJSON(t, a, imgB, nil)
			waitWrites(t, a, 2)
			rc := rs.client()
			defer rc.Close()
			ctx := context.Background()
			keyA, keyB := sharedKeyOf(t, a, imgA), sharedKeyOf(t, a, imgB)
			valueA, err := rc.Get(ctx, keyA).Bytes()
			require.NoError(t, err)

			// A's value under B's key.
			require.NoError(t, rc.Set(ctx, keyB, valueA, time.Minute).Err())
			b := sharedServer(t, rs, cfg)
			got, cached := segmentJSON(t, b, imgB, nil)
			assert.False(t, cached, "another photo's value is not B's answer")
			assert.Equal(t, wantB, got)
			assert.EqualValues(t, 1, rejected(b, "tag"))
			waitWrites(t, b, 1) // the model's answer replaces it

			// A's value with 8 bytes overwritten.
			damaged := append([]byte(nil), valueA...)
			copy(damaged[len(damaged)/2:], "XXXXXXXX")
			require.NoError(t, rc.Set(ctx, keyA, damaged, time.Minute).Err())
			c := sharedServer(t, rs, cfg)
			got, cached = segmentJSON(t, c, imgA, nil)
			assert.False(t, cached, "a damaged value is a miss")
			assert.Equal(t, wantA, got)
			assert.EqualValues(t, 1, rejected(c, "tag"))
			waitWrites(t, c, 1)

			// A value sealed by a replica with another secret (or with none).
			require.NoError(t, rc.Set(ctx, keyA, valueA, time.Minute).Err())
			other := Config{RedisSecret: strings.Repeat("z", 32)}
			if secret != "" {
				other = Config{}
			}
			d := sharedServer(t, rs, other)
			_, cached = segmentJSON(t, d, imgA, nil)
			assert.False(t, cached, "another secret's value is a miss")
			assert.EqualValues(t, 1, rejected(d, "tag"))
			assert.Contains(t, do(t, d, "GET", "/metrics", nil, "").Body.String(), `nailtrt_cache_shared_rejected_total{reason="tag"} 1`)
			st := decodeJSON[cacheStats](t, do(t, d, "GET", "/api/cache/stats", nil, ""))
			assert.EqualValues(t, 1, st.Shared.Rejected)
			assert.EqualValues(t, 1, st.Shared.Misses)
			waitWrites(t, d, 1)

			// The value as A sealed it is still a hit.
			require.NoError(t, rc.Set(ctx, keyA, valueA, time.Minute).Err())
			e := sharedServer(t, rs, cfg)
			got, cached = segmentJSON(t, e, imgA, nil)
			assert.True(t, cached)
			assert.Equal(t, wantA, got)
		})
	}
}

// overflowingValue is issue 31's 45-byte value: a photo of MaxInt32 x MaxInt32 and a
// ring count whose 24 bytes each wrapped the byte count negative, so that make([]Contour,
// rings) panicked inside the singleflight group and the process exited.
func overflowingValue() []byte {
	b := append([]byte("NTR"), nails.ResultCodecVersion)
	b = binary.AppendUvarint(b, math.MaxInt32)
	b = binary.AppendUvarint(b, math.MaxInt32)
	b = append(b, 0, 0, 0, 0, 0, 1, 1)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(0.5))
	b = append(b, 0, 0, 0, 0, 0, 0, 0)
	return binary.AppendUvarint(b, 1<<61)
}

// Values sealed to the right key (so only the decoder stands in the way: what a
// replica with a bug, or anyone who can write to Redis without a secret, could store)
// that claim another size, overflow the codec's counts or hold what no response can
// carry are misses. The 1e6 x 1e6 one made ?mask=png and renders allocate 1e12 bytes.
func TestSharedCacheRefusesHostileValues(t *testing.T) {
	big := func() []byte {
		alpha := make([]uint8, 16)
		b, err := (&nails.Result{Width: 1e6, Height: 1e6, Model: "nailseg@1",
			Nails: []nails.Nail{{ID: 1, Score: 0.9, Box: image.Rect(0, 0, 1e6, 1e6), Area: 1e12,
				Mask: &nails.Mask{Rect: image.Rect(0, 0, 4, 4), Alpha: alpha}}}}).MarshalBinary()
		require.NoError(t, err)
		require.Less(t, len(b), 1024)
		return b
	}
	nan := func() []byte {
		b, err := (&nails.Result{Width: 96, Height: 72, Model: "nailseg@1",
			Nails: []nails.Nail{{ID: 1, Score: math.NaN(), Box: image.Rect(0, 0, 4, 4), Area: 16}}}).MarshalBinary()
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"a 1e6 x 1e6 result for a 96x72 photo", big()},
		{"a ring count that overflows", overflowingValue()},
		{"a NaN score", nan()},
		{"not a result", []byte("not a result at all")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := startRedis(t)
			cfg := Config{RedisSecret: testSecret}
			a := sharedServer(t, rs, cfg)
			img := photoJPEG(t, 96, 72, 3)
			segmentJSON(t, a, img, nil)
			waitWrites(t, a, 1)
			key := sharedKeyOf(t, a, img)
			rc := rs.client()
			defer rc.Close()
			plant := func() {
				sealed := sealValue([]byte(testSecret), key, tc.payload)
				require.NoError(t, rc.Set(context.Background(), key, sealed, time.Minute).Err())
			}

			plant()
			b := sharedServer(t, rs, cfg)
			got, cached := segmentJSON(t, b, img, map[string]string{"mask": "none"})
			assert.False(t, cached)
			assert.Equal(t, 96, got.Width)
			assert.Equal(t, 72, got.Height)
			assert.EqualValues(t, 1, rejected(b, "invalid"))
			for _, mask := range []string{"rle", "png"} {
				rec := postImage(t, b, "/api/nails/segment?mask="+mask, img, nil)
				assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			}
			waitWrites(t, b, 1) // the model's answer replaces the value

			// A render decodes the photo first and asks the shared level by its size.
			plant()
			c := sharedServer(t, rs, cfg)
			rec := postImage(t, c, "/api/nails/render", img, map[string]string{"material": "glossy_red", "format": "png"})
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "miss", rec.Header().Get("X-Cache"))
			assert.EqualValues(t, 1, rejected(c, "invalid"))
		})
	}
}

// A panic while reading a shared value (a decoder bug some value finds) happens inside
// the singleflight group, which re-panics in a goroutine of its own: it ended the
// process. Now it is a miss, logged and counted, and the replica serves on.
func TestSharedCachePanicIsAMiss(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{})
	img := photoJPEG(t, 96, 72, 4)
	want, _ := segmentJSON(t, a, img, nil)
	waitWrites(t, a, 1)

	b := sharedServer(t, rs, Config{})
	b.cache.shared.decode = func([]byte, image.Point, int) (*nails.Result, error) { panic("decoder bug") }
	got, cached := segmentJSON(t, b, img, nil)
	assert.False(t, cached)
	assert.Equal(t, want, got)
	assert.EqualValues(t, 1, rejected(b, "panic"))
	assert.Contains(t, do(t, b, "GET", "/metrics", nil, "").Body.String(), `nailtrt_cache_shared_rejected_total{reason="panic"} 1`)
	_, cached = segmentJSON(t, b, img, nil)
	assert.True(t, cached, "the model's answer is cached as usual")
}

// A value longer than NAILTRT_REDIS_MAX_VALUE is read no further than that (GETRANGE):
// a miss, and the connection and the level stay up.
func TestSharedCacheOversizedValueIsAMiss(t *testing.T) {
	rs := startRedis(t)
	cfg := Config{RedisMaxValue: 16 << 10}
	a := sharedServer(t, rs, cfg)
	img := photoJPEG(t, 96, 72, 5)
	segmentJSON(t, a, img, nil)
	waitWrites(t, a, 1)
	rc := rs.client()
	defer rc.Close()
	require.NoError(t, rc.Set(context.Background(), sharedKeyOf(t, a, img), strings.Repeat("x", 4<<20), time.Minute).Err())

	b := sharedServer(t, rs, cfg)
	_, cached := segmentJSON(t, b, img, nil)
	assert.False(t, cached)
	assert.EqualValues(t, 1, rejected(b, "too_large"))
	assert.Zero(t, b.cache.shared.failures.Load(), "not a Redis failure")
	assert.False(t, b.cache.shared.down.Load())
	waitWrites(t, b, 1) // the model's answer replaced it
	_, cached = segmentJSON(t, sharedServer(t, rs, cfg), img, nil)
	assert.True(t, cached)
}

// fakeRedis is a RESP server that answers HELLO with an error (as Redis 5 does) and
// every other command with reply. It returns its URL.
func fakeRedis(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					cmd, err := readRESPCommand(r)
					if err != nil {
						return
					}
					out := reply
					if strings.EqualFold(cmd, "hello") {
						out = "-ERR unknown command 'HELLO'\r\n"
					}
					if _, err := io.WriteString(c, out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "redis://" + ln.Addr().String() + "/0"
}

// readRESPCommand reads one command (an array of bulk strings) and returns its name.
func readRESPCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil || len(line) < 3 || line[0] != '*' {
		return "", io.ErrUnexpectedEOF
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return "", err
	}
	var name string
	for i := range n {
		l, err := r.ReadString('\n')
		if err != nil || len(l) < 3 {
			return "", io.ErrUnexpectedEOF
		}
		size, err := strconv.Atoi(strings.TrimSpace(l[1:]))
		if err != nil || size < 0 || size > 1<<20 {
			return "", io.ErrUnexpectedEOF
		}
		arg := make([]byte, size+2)
		if _, err := io.ReadFull(r, arg); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(arg[:size])
		}
	}
	return name, nil
}

// A server (or anything between) that declares a huge reply: go-redis allocates what a
// header declares before reading it, and "$100000000000" to one GET took nailtrt down
// with a fatal out-of-memory. Now the reply is refused before go-redis sees it: a Redis
// failure like any other, and next to no memory.
func TestSharedCacheHostileRedisServer(t *testing.T) {
	for _, c := range []struct{ name, reply string }{
		// First: without the guard this one is 256 MiB allocated, which the test
		// measures; the next ones are fatal (the test binary dies).
		{"a 256 MiB bulk string", "$268435456\r\nxx"},
		{"a 100 GB bulk string", "$100000000000\r\n"},
		{"an array of 10^9 elements", "*1000000000\r\n"},
		{"a map of 10^9 entries", "%1000000000\r\n"},
		{"a line without end", "+" + strings.Repeat("x", 1<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{RedisURL: fakeRedis(t, c.reply)}, nil)
			waitReady(t, s)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got, cached := segmentJSON(t, s, photoJPEG(t, 96, 72, 6), nil)
			runtime.ReadMemStats(&after)
			assert.False(t, cached)
			assert.Equal(t, 96, got.Width)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated by one request")
			assert.EqualValues(t, 1, s.cache.shared.failures.Load(), "a Redis failure")
			assert.True(t, s.cache.shared.down.Load())
		})
	}
}

// rediss:// speaks TLS through the guarded connection: the first byte the server gets
// is a TLS handshake record.
func TestSharedCacheTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	first := make(chan byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err == nil {
			first <- b[0]
		}
	}()
	sh, err := newSharedCache(Config{RedisURL: "rediss://" + ln.Addr().String() + "/0", RedisTimeout: 300 * time.Millisecond,
		RedisMaxValue: 1 << 20}, quietLogger())
	require.NoError(t, err)
	defer sh.close()
	assert.Nil(t, sh.get("k", image.Pt(1, 1)))
	select {
	case b := <-first:
		assert.EqualValues(t, 0x16, b, "a TLS handshake record")
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the server")
	}
}

// The ACL that deploy/kubernetes/redis.yaml gives Redis lets nailtrt do all it does
// (read, write, clear) and nothing else, and keeps out clients without the password.
func TestSharedCacheUnderTheManifestACL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "redis.yaml"))
	require.NoError(t, err)
	var args []string
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	for {
		var o struct {
			Kind     string
			Metadata struct{ Name string }
			Spec     struct {
				Template struct {
					Spec struct {
						Containers []struct{ Args []string }
					}
				}
			}
		}
		if err := dec.Decode(&o); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		if o.Kind == "Deployment" && o.Metadata.Name == "nailtrt-redis" {
			args = o.Spec.Template.Spec.Containers[0].Args
		}
	}
	// Its ACL: everything from the first --user on.
	var acl []string
	for j, a := range args {
		if a == "--user" {
			acl = args[j:]
			break
		}
	}
	require.NotEmpty(t, acl, "the manifest sets ACL users")
	const pw = "test-password-0123456789"
	for j, a := range acl {
		acl[j] = strings.ReplaceAll(a, "$(REDIS_PASSWORD)", pw)
	}
	rs := startRedisAs(t, "nailtrt:"+pw, acl...)
	cfg := Config{RedisSecret: testSecret, AdminToken: "tok"}
	a := sharedServer(t, rs, cfg)
	img := photoJPEG(t, 96, 72, 7)
	segmentJSON(t, a, img, nil)
	waitWrites(t, a, 1)
	c := sharedServer(t, rs, cfg)
	_, cached := segmentJSON(t, c, img, nil)
	assert.True(t, cached, "read what A wrote")
	rec := do(t, c, "POST", "/api/cache/clear", nil, "", "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.EqualValues(t, 1, decodeJSON[map[string]any](t, rec)["shared_cleared"])
	assert.Zero(t, a.cache.shared.failures.Load()+c.cache.shared.failures.Load(), "every command nailtrt sends is allowed")

	rc := (&redisServer{port: rs.port}).client() // no user, no password
	defer rc.Close()
	assert.ErrorContains(t, rc.Ping(context.Background()).Err(), "NOAUTH", "no password, no Redis")
	auth := rs.client()
	defer auth.Close()
	assert.ErrorContains(t, auth.FlushAll(context.Background()).Err(), "NOPERM", "nailtrt's user cannot wipe Redis")
	assert.ErrorContains(t, auth.Set(context.Background(), "other:key", "v", time.Minute).Err(), "NOPERM", "nor touch other keys")
}

// A photo whose EXIF turns it a quarter turn is cached under its displayed size: the
// shared level's size check uses the header's orientation, as the model's result does.
func TestSharedCacheRotatedPhoto(t *testing.T) {
	rs := startRedis(t)
	a := sharedServer(t, rs, Config{})
	img := withOrientation(photoJPEG(t, 96, 72, 8), 6)
	want, _ := segmentJSON(t, a, img, nil)
	require.Equal(t, 72, want.Width, "displayed a quarter turn")
	waitWrites(t, a, 1)
	got, cached := segmentJSON(t, sharedServer(t, rs, Config{}), img, nil)
	assert.True(t, cached)
	assert.Equal(t, want, got)
	rec := postImage(t, sharedServer(t, rs, Config{}), "/api/nails/render", img, map[string]string{"material": "glossy_red", "format": "png"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "hit", rec.Header().Get("X-Cache"), "a render (decoded photo) finds it too")
}

// withOrientation inserts an EXIF APP1 segment with orientation o after a JPEG's SOI.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	binary.LittleEndian.PutUint16(tiff[18:], o)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(seg)+2))
	out := append(append(append([]byte{}, jpg[:2]...), app1...), seg...)
	return append(out, jpg[2:]...)
}

func TestSharedCacheSecretSettings(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	got, err := redisSecret("", file("ok", testSecret+"\n"))
	require.NoError(t, err)
	assert.Equal(t, testSecret, string(got), "the trailing newline is dropped")
	got, err = redisSecret(testSecret, "")
	require.NoError(t, err)
	assert.Equal(t, testSecret, string(got))
	got, err = redisSecret("", "")
	require.NoError(t, err)
	assert.Nil(t, got, "none set: no secret")
	for _, c := range []struct{ name, value, file, want string }{
		{"both", testSecret, file("both", testSecret), "set one"},
		{"short", "short", "", "at least 16"},
		{"missing file", "", filepath.Join(dir, "nope"), "NAILTRT_REDIS_SECRET_FILE"},
		{"empty file", "", file("empty", "\n"), "is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := redisSecret(c.value, c.file)
			assert.ErrorContains(t, err, c.want)
			err = Config{RedisURL: "redis://localhost:6379/0", RedisSecret: c.value, RedisSecretFile: c.file}.Validate()
			assert.ErrorContains(t, err, c.want, "serve refuses to start")
		})
	}
	assert.NoError(t, Config{RedisSecret: "short"}.Validate(), "no shared cache: the secret is unused")
	_, err = newSharedCache(Config{RedisURL: "redis://localhost:6379/0", RedisSecret: "short"}, quietLogger())
	assert.Error(t, err)
}

// A sealed value opens under its key and secret only, and any change to it fails.
func TestSealValue(t *testing.T) {
	secret, payload := []byte(testSecret), []byte("a result's bytes")
	v := sealValue(secret, "k1", payload)
	got, err := openValue(secret, "k1", v)
	require.NoError(t, err)
	assert.Equal(t, payload, got)
	_, err = openValue(secret, "k2", v)
	assert.ErrorIs(t, err, errSealed, "another key")
	_, err = openValue([]byte(strings.Repeat("y", 32)), "k1", v)
	assert.ErrorIs(t, err, errSealed, "another secret")
	_, err = openValue(nil, "k1", v)
	assert.ErrorIs(t, err, errSealed, "no secret")
	for i := range v {
		bad := append([]byte(nil), v...)
		bad[i] ^= 1
		_, err := openValue(secret, "k1", bad)
		assert.ErrorIs(t, err, errSealed, "byte %d flipped", i)
	}
	for n := range len(v) {
		_, err := openValue(secret, "k1", v[:n])
		assert.ErrorIs(t, err, errSealed, "cut to %d bytes", n)
	}
	// Key and payload are kept apart in the tag: ("k1", "abc") and ("k", "1abc") differ.
	moved := append(sealValue(secret, "k1", []byte("abc"))[:sealHeader], "1abc"...)
	_, err = openValue(secret, "k", moved)
	assert.ErrorIs(t, err, errSealed, "a byte moved from the key to the payload")
	keyless := sealValue(nil, "k1", payload)
	got, err = openValue(nil, "k1", keyless)
	require.NoError(t, err)
	assert.Equal(t, payload, got)
	_, err = openValue(nil, "k2", keyless)
	assert.ErrorIs(t, err, errSealed, "without a secret the digest still binds the key")
}

// The guard follows RESP across reads of any size: it passes what fits the budget,
// skips payloads (which may hold anything), and refuses a declaration past the budget,
// a malformed length or an endless line.
func TestRESPGuard(t *testing.T) {
	const budget = 1 << 16
	const inside = "\n$99999999999\r\n*99\r\n$-5\r\n"
	for _, c := range []struct {
		name, stream string
		ok           bool
	}{
		{"status", "+OK\r\n", true},
		{"bulk", "$5\r\nhello\r\n", true},
		{"empty and nil bulk", "$0\r\n\r\n$-1\r\n*-1\r\n_\r\n", true},
		{"a header inside a payload is data", "$" + strconv.Itoa(len(inside)) + "\r\n" + inside + "\r\n+OK\r\n", true},
		{"nested aggregates", "*2\r\n%1\r\n+a\r\n:1\r\n~1\r\n=7\r\ntxt:abc\r\n", true},
		{"a bulk string past the budget", "$65536\r\n", false},
		{"100 GB", "$100000000000\r\n", false},
		{"an array past the budget", "*4096\r\n", false},
		{"a map past the budget", "%2048\r\n", false},
		{"a push past the budget", ">4096\r\n", false},
		{"a length past int64", "$99999999999999999999999\r\n", false},
		{"a negative length", "$-2\r\n", false},
		{"not a length", "*x\r\n", false},
		{"many small arrays add up", strings.Repeat("*1000\r\n", 5), false},
		{"an endless line", "+" + strings.Repeat("x", maxRESPLine), false},
	} {
		for _, chunk := range []int{1, 7, len(c.stream)} {
			g := respGuard{limit: budget}
			g.left.Store(budget)
			var err error
			for p := []byte(c.stream); len(p) > 0 && err == nil; {
				n := min(chunk, len(p))
				err = g.scan(p[:n])
				p = p[n:]
			}
			if c.ok {
				assert.NoError(t, err, "%s in reads of %d", c.name, chunk)
			} else {
				assert.ErrorIs(t, err, errReplyTooLarge, "%s in reads of %d", c.name, chunk)
			}
		}
	}
	// The budget is per command: a write renews it.
	g := respGuard{limit: 100}
	g.left.Store(100)
	require.NoError(t, g.scan([]byte("$60\r\n"+strings.Repeat("x", 60)+"\r\n")))
	require.ErrorIs(t, g.scan([]byte("$60\r\n")), errReplyTooLarge)
	g = respGuard{limit: 100}
	g.left.Store(100)
	require.NoError(t, g.scan([]byte("$60\r\n"+strings.Repeat("x", 60)+"\r\n")))
	g.left.Store(g.limit) // what boundedConn.Write does
	require.NoError(t, g.scan([]byte("$60\r\n")))
}

// A write runs after the response, in a goroutine of its own, outside every handler's
// recovery: a panic there (here: encoding a nil result) is a skipped write, not the
// end of the process.
func TestSharedCacheWritePanicIsSkipped(t *testing.T) {
	sh, err := newSharedCache(Config{RedisURL: "redis://127.0.0.1:1/0", RedisTimeout: 100 * time.Millisecond,
		RedisMaxValue: 1 << 20}, quietLogger())
	require.NoError(t, err)
	defer sh.close()
	sh.put("k", nil)
	sh.pending.Wait()
	assert.EqualValues(t, 1, sh.skipped.Load())
	assert.Zero(t, sh.sets.Load())
}
