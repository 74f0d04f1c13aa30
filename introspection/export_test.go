package introspection

// CacheLen returns how many answers c keeps.
func CacheLen(c *Client) int {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	return len(c.cache.entries)
}
