package textdist

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"metallic-gold", "metallic_gold", 1}, {"same", "same", 0}} {
		assert.Equal(t, c.d, Distance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.d, Distance(c.b, c.a), "symmetric")
	}
}

func TestNearest(t *testing.T) {
	names := []string{"addr", "lazy", "cache-ttl", "cache-size", "model"}
	assert.Equal(t, "cache-ttl", Nearest("cache-tl", names))
	assert.Equal(t, "model", Nearest("modle", names))
	assert.Equal(t, "", Nearest("completely-different", names))
	assert.Equal(t, "", Nearest("x", nil))
}
