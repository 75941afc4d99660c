package segment

// Internals lent to the external tests (package segment_test).

// OpenBatchMembers is how many requests the batch now accepting members holds (0: none
// is open). Tests wait on it to know a request has joined a batch, instead of sleeping.
func OpenBatchMembers(s *Segmenter) int {
	b := s.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		return 0
	}
	return len(b.open.members)
}
