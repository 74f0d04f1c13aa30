package demotest

import "bytes"

// TakeOutput returns what the server has printed since it started, or
// since the last TakeOutput, and forgets it, so that a long test does not
// keep every log line in memory. Output and Logs then hold only what was
// printed after.
func (s *Server) TakeOutput() string {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	out := s.out.buf.String()
	s.out.buf = bytes.Buffer{}
	return out
}
