package nails

// resize returns *b with length n, growing its storage only when it is too small (the
// contents are whatever was there: callers clear what they read before writing).
func resize[T any](b *[]T, n int) []T {
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return *b
}
