package login

// Sizes returns how many entries each of l's tables holds: address and
// username, address, account, familiar address.
func (l *MemoryLimiter) Sizes() [4]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return [4]int{len(l.pairs.m), len(l.addrs.m), len(l.accounts.m), len(l.familiar.m)}
}
