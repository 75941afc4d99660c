// Package textdist suggests the name a person probably meant: "did you mean" for
// material presets (nails) and command-line options (cmd/nailtrt).
package textdist

import "sort"

// Distance is the Levenshtein edit distance between a and b (bytes).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest is the candidate closest to name, if within a third of name's length in
// edits (at least one); "" when none is that close. Ties go to the first in sort order.
func Nearest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", len(name)/3+2
	for _, c := range sorted {
		if d := Distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
