package otelauth

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// watchModes is the closed set of sqlstore's WatchMode, the last standing
// for any other.
var watchModes = [...]string{"listen", "poll", other}

var watchModeAttrs = func() (o [len(watchModes)]metric.ObserveOption) {
	for i, m := range watchModes {
		o[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("tokenauth.revocation.mode", m)))
	}
	return o
}()

// ObserveWatchMode reports mode() at each collection as the gauge
// tokenauth.revocation.mode: 1 for the mode in use ("listen" or "poll"),
// 0 for the other, so that a store that fell back to polling (PgBouncer
// in transaction mode, a LISTEN that failed) shows. Pass sqlstore's
// (*Store).WatchMode. With several stores observed, a mode is 1 while any
// of them is in it.
func (t *Telemetry) ObserveWatchMode(mode func() string) error {
	if mode == nil {
		return errors.New("otelauth: ObserveWatchMode of a nil function")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.modes) == 0 {
		if err := t.registerWatchMode(); err != nil {
			return err
		}
	}
	t.modes = append(t.modes, mode)
	return nil
}

func (t *Telemetry) registerWatchMode() error {
	g, err := t.meter.Int64ObservableGauge("tokenauth.revocation.mode",
		metric.WithUnit("1"), metric.WithDescription("1 for the way the store hears revocations (listen, poll), 0 for the other."))
	if err != nil {
		return err
	}
	_, err = t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		t.mu.Lock()
		modes := t.modes // only ever appended to: this view stays valid
		t.mu.Unlock()
		var in [len(watchModes)]int64
		for _, mode := range modes {
			in[index(watchModes[:], mode())] = 1
		}
		for i := range watchModes {
			// _OTHER only when some store reports a mode this package
			// does not know, rather than a series that is always 0.
			if i < len(watchModes)-1 || in[i] == 1 {
				o.ObserveInt64(g, in[i], watchModeAttrs[i])
			}
		}
		return nil
	}, g)
	return err
}
