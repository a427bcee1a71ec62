package fleet

import (
	"context"
	"errors"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// owned is a partition this correlator holds the lease of.
type owned struct {
	w      *worker
	rev    uint64 // revision of our lease entry
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func leaseKey(p int) string      { return "p." + strconv.Itoa(p) }
func memberKey(id string) string { return "m." + id }

// Run owns partitions until ctx ends, then stops its partitions, releases
// their leases for another correlator and disconnects. It returns the
// first error of the sink, or nil.
func (c *Correlator) Run(ctx context.Context) error {
	parts := make(map[int]*owned)
	defer c.nc.Close()
	defer c.releaseAll(parts)
	every := c.cfg.LeaseTTL / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := c.tend(ctx, parts); err != nil {
			return err
		}
		c.stats.owned.Store(int64(len(parts)))
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// tend is one round of lease work: register as live, renew the leases
// held, hand back those over our share, take free ones up to it.
func (c *Correlator) tend(ctx context.Context, parts map[int]*owned) error {
	start := time.Now()
	if _, err := c.leases.Put(ctx, memberKey(c.cfg.ID), nil); err != nil {
		if ctx.Err() == nil {
			c.cfg.Logf("fleet: register %s: %v", c.cfg.ID, err)
		}
	}
	for p, o := range parts {
		select {
		case <-o.done:
			var se *sinkError
			if errors.As(o.err, &se) {
				return se
			}
			if o.err != nil && ctx.Err() == nil {
				c.cfg.Logf("fleet: %v", o.err)
			}
			c.release(p, o, parts)
			continue
		default:
		}
		rev, err := c.leases.Update(ctx, leaseKey(p), []byte(c.cfg.ID), o.rev)
		if err != nil {
			if ctx.Err() == nil {
				c.cfg.Logf("fleet: partition %d: lease renewal failed: %v", p, err)
			}
			if !o.w.leaseValid() {
				o.stop()
				delete(parts, p)
			}
			continue
		}
		o.rev = rev
		o.w.deadline.Store(start.Add(c.cfg.LeaseTTL * 2 / 3).UnixNano())
	}
	share := c.share(ctx)
	for len(parts) > share {
		p := maxKey(parts)
		c.release(p, parts[p], parts)
	}
	if len(parts) >= share {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(c.cfg.ID))
	first := int(h.Sum32() % uint32(c.cfg.Partitions))
	for i := 0; i < c.cfg.Partitions && len(parts) < share && ctx.Err() == nil; i++ {
		p := (first + i) % c.cfg.Partitions
		if parts[p] != nil {
			continue
		}
		rev, err := c.leases.Create(ctx, leaseKey(p), []byte(c.cfg.ID))
		if errors.Is(err, jetstream.ErrKeyExists) {
			rev, err = c.reclaim(ctx, p)
		}
		if err != nil {
			continue // owned by another, or the server is away
		}
		parts[p] = c.start(ctx, p, rev, start)
	}
	return nil
}

// reclaim takes back a lease that names this correlator's ID: an earlier
// run of this correlator that died (IDs are unique among live correlators),
// so a restart need not wait for the TTL.
func (c *Correlator) reclaim(ctx context.Context, p int) (uint64, error) {
	e, err := c.leases.Get(ctx, leaseKey(p))
	if err != nil {
		return 0, err
	}
	if string(e.Value()) != c.cfg.ID {
		return 0, jetstream.ErrKeyExists
	}
	return c.leases.Update(ctx, leaseKey(p), []byte(c.cfg.ID), e.Revision())
}

// share is how many partitions this correlator should own: its fair part
// among the live correlators, rounded up.
func (c *Correlator) share(ctx context.Context) int {
	n := 1
	w, err := c.leases.Watch(ctx, "m.*", jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err == nil {
		members := map[string]bool{c.cfg.ID: true}
		timeout := time.After(2 * time.Second)
	loop:
		for {
			select {
			case e := <-w.Updates():
				if e == nil {
					break loop
				}
				members[strings.TrimPrefix(e.Key(), "m.")] = true
			case <-timeout:
				break loop
			}
		}
		w.Stop()
		n = len(members)
	}
	return (c.cfg.Partitions + n - 1) / n
}

func (c *Correlator) start(ctx context.Context, p int, rev uint64, leased time.Time) *owned {
	wctx, cancel := context.WithCancel(ctx)
	o := &owned{w: newWorker(c, p), rev: rev, cancel: cancel, done: make(chan struct{})}
	o.w.deadline.Store(leased.Add(c.cfg.LeaseTTL * 2 / 3).UnixNano())
	c.stats.acquired.Add(1)
	go func() {
		defer close(o.done)
		o.err = o.w.run(wctx)
	}()
	return o
}

func (o *owned) stop() {
	o.cancel()
	<-o.done
}

// release stops a partition and deletes its lease, so that another
// correlator can take it at once rather than after the TTL.
func (c *Correlator) release(p int, o *owned, parts map[int]*owned) {
	o.stop()
	delete(parts, p)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.leases.Delete(ctx, leaseKey(p), jetstream.LastRevision(o.rev))
}

func (c *Correlator) releaseAll(parts map[int]*owned) {
	keys := make([]int, 0, len(parts))
	for p := range parts {
		keys = append(keys, p)
	}
	sort.Ints(keys)
	for _, p := range keys {
		parts[p].cancel()
	}
	for _, p := range keys {
		c.release(p, parts[p], parts)
	}
	c.stats.owned.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.leases.Delete(ctx, memberKey(c.cfg.ID))
}

func maxKey(parts map[int]*owned) int {
	m := -1
	for p := range parts {
		m = max(m, p)
	}
	return m
}
