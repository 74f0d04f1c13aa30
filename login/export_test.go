package login

// Sizes returns how many entries each of l's tables holds: address and
// username, address, account, device, familiar addresses (by account).
func (l *MemoryLimiter) Sizes() [5]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return [5]int{len(l.pairs.m), len(l.addrs.m), len(l.accounts.t.m), len(l.devices.t.m), len(l.familiar.m)}
}
