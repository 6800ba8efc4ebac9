package ad

import "strings"

// The names a create request proposes are reserved for its person in this
// instance (Sink.proposed) as they are chosen, until the request's link
// comes or it times out. Without this, the persons of a first sync who
// share a sAMAccountName prefix (the default rule takes two letters of
// each name: Anna Jensen and Anders Jeppesen are both "anje"), reconciled
// by several workers at once, all propose the same free names; the outbox
// gives them to the first, dead-letters the rest, and each round of the
// rest waited requestTimeout. Across instances the outbox's claims still
// settle it (and proposals gives each request a few names).

// reserveName reserves name (of kind "dn/" or "sam/") for person, unless
// another person's request has it: then it reports false.
func (s *Sink) reserveName(kind, name, person string) bool {
	key := kind + strings.ToLower(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner, ok := s.proposed[key]; ok {
		return owner == person
	}
	s.proposed[key] = person
	s.proposals[person] = append(s.proposals[person], key)
	return true
}

// awaiting reports whether person's create request is open.
func (s *Sink) awaiting(person string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.requested[person]
	return ok
}

// releaseNames frees the names reserved for person.
func (s *Sink) releaseNames(person string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(person)
}

// release frees the names reserved for person. s.mu is held.
func (s *Sink) release(person string) {
	for _, key := range s.proposals[person] {
		if s.proposed[key] == person {
			delete(s.proposed, key)
		}
	}
	delete(s.proposals, person)
}
