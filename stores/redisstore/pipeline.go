package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// call is one script call of a pipeline.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
}

// evalAll runs calls in one pipeline: one round trip, or one per node of a
// cluster, in parallel. Scripts are called by their hash; those a node has
// lost (a restart, a failover, SCRIPT FLUSH) are loaded and only the calls
// that failed for it are sent again, so that no call runs twice. It
// returns each call's command, and the first error other than redis.Nil
// (a script's false: "not found").
func (s *Store) evalAll(ctx context.Context, calls []call) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		pipe := s.client.Pipeline()
		for _, i := range todo {
			cmds[i] = calls[i].script.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // each command holds its own error
		var lost []int
		for _, i := range todo {
			if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
				lost = append(lost, i)
			}
		}
		if attempt > 0 || len(lost) == 0 {
			break
		}
		loaded := map[*redis.Script]bool{}
		for _, i := range lost {
			if sc := calls[i].script; !loaded[sc] {
				if err := sc.Load(ctx, s.client).Err(); err != nil {
					return cmds, err
				}
				loaded[sc] = true
			}
		}
		todo = lost
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return cmds, err
		}
	}
	return cmds, nil
}
