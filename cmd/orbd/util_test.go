package main

import (
	"bytes"
	"regexp"
	"sync"
)

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func regexpFind(re, s string) []string { return regexp.MustCompile(re).FindStringSubmatch(s) }
