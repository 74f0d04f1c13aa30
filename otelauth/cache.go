package otelauth

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/go-tokenauth/tokenauth/stores/cachestore"
)

var (
	cacheHit         = metric.WithAttributeSet(attribute.NewSet(attribute.String("tokenauth.cache.result", "hit")))
	cacheNegativeHit = metric.WithAttributeSet(attribute.NewSet(attribute.String("tokenauth.cache.result", "negative_hit")))
	cacheMiss        = metric.WithAttributeSet(attribute.NewSet(attribute.String("tokenauth.cache.result", "miss")))
)

// ObserveCache reports c.Stats() at each collection: lookups by result,
// evictions, entries, whether the cache hears its store's revocations
// and how often that subscription broke. With several caches observed,
// the counts are their sums and tokenauth.revocation.subscribed is 1 only
// while every one of them hears its store.
func (t *Telemetry) ObserveCache(c *cachestore.Store) error {
	if c == nil {
		return errors.New("otelauth: ObserveCache of a nil cache")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.caches) == 0 {
		if err := t.registerCache(); err != nil {
			return err
		}
	}
	t.caches = append(t.caches, c)
	return nil
}

// registerCache makes the cache's instruments and their callback.
func (t *Telemetry) registerCache() error {
	m := t.meter
	lookups, err1 := m.Int64ObservableCounter("tokenauth.cache.lookups",
		metric.WithUnit("{lookup}"), metric.WithDescription("Token lookups the cache answered (hit, negative_hit) or passed to the store (miss)."))
	evictions, err2 := m.Int64ObservableCounter("tokenauth.cache.evictions",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries dropped before their TTL to make room; a steady rate means the cache is too small."))
	entries, err3 := m.Int64ObservableUpDownCounter("tokenauth.cache.entries",
		metric.WithUnit("{entry}"), metric.WithDescription("Entries the cache holds, found and not found."))
	subscribed, err4 := m.Int64ObservableGauge("tokenauth.revocation.subscribed",
		metric.WithUnit("1"), metric.WithDescription("1 while the cache hears the store's revocations, 0 while only its TTL bounds a revoked token's life."))
	reconnects, err5 := m.Int64ObservableCounter("tokenauth.revocation.reconnects",
		metric.WithUnit("{reconnect}"), metric.WithDescription("Revocation subscriptions that broke and were made again."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		t.mu.Lock()
		caches := t.caches // only ever appended to: this view stays valid
		t.mu.Unlock()
		var sum cachestore.Stats
		watching := int64(1)
		for _, c := range caches {
			s := c.Stats()
			sum.Hits += s.Hits
			sum.NegativeHits += s.NegativeHits
			sum.Misses += s.Misses
			sum.Evictions += s.Evictions
			sum.Len += s.Len
			sum.Reconnects += s.Reconnects
			if !s.Watching {
				watching = 0
			}
		}
		o.ObserveInt64(lookups, int64(sum.Hits), cacheHit)
		o.ObserveInt64(lookups, int64(sum.NegativeHits), cacheNegativeHit)
		o.ObserveInt64(lookups, int64(sum.Misses), cacheMiss)
		o.ObserveInt64(evictions, int64(sum.Evictions))
		o.ObserveInt64(entries, int64(sum.Len))
		o.ObserveInt64(subscribed, watching)
		o.ObserveInt64(reconnects, int64(sum.Reconnects))
		return nil
	}, lookups, evictions, entries, subscribed, reconnects)
	return err
}
