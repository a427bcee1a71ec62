// Credit: the successful exchanges of sources that have no tracker. A
// client's exchanges that carried data are evidence of a benign host (the
// sequential test's successes), but a tracker is only made at a source's
// first failed contact, so a host with a long record of successes would
// start the test from nothing at its first few failures (a blocked
// advertiser, a dead mirror). A fixed table remembers the successes of
// sources without a tracker, by address, overwritten on collision, and
// those of a tracker evicted for room (giveBack); a tracker made for one
// starts from that record.

package detector

import "net/netip"

const creditSlots = 1 << 14 // 16384 sources, about 640 KiB

type creditSlot struct {
	addr netip.Addr
	n    uint32 // successes
	last int64  // packet time of the latest, ns
}

// The slot of an address is a fixed hash of it, not a seeded one: which
// sources share a slot changes what is remembered, and a replay must
// decide the same way every time. A collision costs a benign source its
// record; it never gives a scanner one (the slot holds the address).
//
// Every new source asks take, and most have no record: a bitmap of the
// slots in use (2 KiB, in cache) answers them without a miss on the table.
type credit struct {
	slots *[creditSlots]creditSlot
	inUse *[creditSlots / 64]uint64
}

func newCredit() credit {
	return credit{slots: new([creditSlots]creditSlot), inUse: new([creditSlots / 64]uint64)}
}

func creditIndex(a netip.Addr) uint64 { return hashKey(a.As16()) % creditSlots }

// add records a success of a at now.
func (c *credit) add(a netip.Addr, now int64) {
	i := creditIndex(a)
	c.inUse[i/64] |= 1 << (i % 64)
	sl := &c.slots[i]
	if sl.addr != a {
		*sl = creditSlot{addr: a}
	}
	sl.n++
	sl.last = now
}

// giveBack returns n successes of a, the latest at last, that a tracker
// held when it was evicted. Unlike a new success it does not take the slot
// of another source: that one's record is as recent, and what goes back
// is only a share of what was had.
func (c *credit) giveBack(a netip.Addr, n uint32, last int64) {
	i := creditIndex(a)
	sl := &c.slots[i]
	if used := c.inUse[i/64]&(1<<(i%64)) != 0; !used {
		*sl = creditSlot{addr: a}
		c.inUse[i/64] |= 1 << (i % 64)
	} else if sl.addr != a {
		return
	}
	sl.n += n
	sl.last = max(sl.last, last)
}

// take returns how many successes a had, the latest no longer ago than
// memory, and forgets them: they move into a's new tracker. h is the hash
// of a that admit made for the evidence too (creditIndex's).
func (c *credit) take(a netip.Addr, h uint64, now, memory int64) int {
	i := h % creditSlots
	if c.inUse[i/64]&(1<<(i%64)) == 0 {
		return 0
	}
	sl := &c.slots[i]
	if sl.addr != a {
		return 0
	}
	n, last := int(sl.n), sl.last
	*sl = creditSlot{}
	c.inUse[i/64] &^= 1 << (i % 64)
	if now-last > memory {
		return 0
	}
	return n
}
