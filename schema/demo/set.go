package demo

import "math/rand/v2"

// keyed is a catalog entry: anything with a Span.
type keyed interface{ id() string }

func (s *Span) id() string { return s.UUID }

// set holds the catalog entries churn may change, with O(1) add, remove
// and random pick. It is not safe for concurrent use; churn guards it.
type set[T keyed] struct {
	items []T
	index map[string]int
}

func newSet[T keyed](n int) *set[T] { return &set[T]{index: make(map[string]int, n)} }

func (s *set[T]) add(x T) {
	if _, ok := s.index[x.id()]; ok {
		return
	}
	s.index[x.id()] = len(s.items)
	s.items = append(s.items, x)
}

func (s *set[T]) remove(k string) {
	i, ok := s.index[k]
	if !ok {
		return
	}
	last := len(s.items) - 1
	s.items[i] = s.items[last]
	s.index[s.items[i].id()] = i
	s.items = s.items[:last]
	delete(s.index, k)
}

func (s *set[T]) get(k string) (T, bool) {
	i, ok := s.index[k]
	if !ok {
		var zero T
		return zero, false
	}
	return s.items[i], true
}

func (s *set[T]) len() int { return len(s.items) }

// pick draws an entry that ok accepts, trying a few times; false when none
// was found.
func (s *set[T]) pick(r *rand.Rand, ok func(T) bool) (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	for try := 0; try < 25; try++ {
		x := s.items[r.IntN(len(s.items))]
		if ok == nil || ok(x) {
			return x, true
		}
	}
	return zero, false
}

// sample draws up to n distinct entries.
func (s *set[T]) sample(r *rand.Rand, n int) []string {
	if n > len(s.items) {
		n = len(s.items)
	}
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for try := 0; len(out) < n && try < 3*n; try++ {
		k := s.items[r.IntN(len(s.items))].id()
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
