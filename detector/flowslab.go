package detector

import "unsafe"

// flowID is a flow's place in the slab; 0 is no flow.
type flowID uint32

// A chunk holds 512 flows (64 KiB) and their links: chunks are never moved
// or freed, so a *flow stays valid while the table lives, and none holds a
// pointer, so the garbage collector neither scans nor moves them.
const (
	chunkBits = 9
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

type flowChunk struct {
	flows [chunkSize]flow
	links [chunkSize]slabLink
}

// slabLink is a flow's place in the LRU list. Links live beside the flows:
// they change at most once a second of a flow's packets.
type slabLink struct{ newer, older flowID }

// flowSlab allocates flows and keeps them in a list, most recently used at
// the head. Places of removed flows are reused, newest first (their lines
// are likely still cached); the slab keeps the chunks it grew to, at most
// what the flow cap needs.
type flowSlab struct {
	chunks     []*flowChunk
	next       flowID // the first place never used; 0 is left out
	free       []flowID
	head, tail flowID // most and least recently used
}

func (s *flowSlab) at(id flowID) *flow { return &s.chunks[id>>chunkBits].flows[id&chunkMask] }

func (s *flowSlab) link(id flowID) *slabLink {
	return &s.chunks[id>>chunkBits].links[id&chunkMask]
}

// flow is at(id), or nil for id 0.
func (s *flowSlab) flow(id flowID) *flow {
	if id == 0 {
		return nil
	}
	return s.at(id)
}

// older is the flow used just before id (towards the tail), newer the one
// used just after it (towards the head); 0 at the ends.
func (s *flowSlab) older(id flowID) flowID { return s.link(id).older }
func (s *flowSlab) newer(id flowID) flowID { return s.link(id).newer }

// alloc returns a zeroed flow at the head of the list, a generation on
// from the flow that held its place before: a reference to that one
// (pendingRef) no longer matches.
//
// A place never used has generation 0 and is not read: its page is fresh
// from the kernel, and a read would map the shared zero page, which the
// write just after must replace (a copy-on-write fault and a TLB flush on
// every core the process runs on, an interrupt to the reader's).
func (s *flowSlab) alloc() *flow {
	var id flowID
	var gen uint32
	if n := len(s.free); n > 0 {
		id = s.free[n-1]
		s.free = s.free[:n-1]
		gen = s.at(id).gen
	} else {
		if s.next == 0 {
			s.next = 1
		}
		id = s.next
		s.next++
		if int(id>>chunkBits) == len(s.chunks) {
			s.chunks = append(s.chunks, new(flowChunk))
		}
	}
	f := s.at(id)
	*f = flow{id: id, gen: gen + 1}
	s.pushFront(id)
	return f
}

// release unlinks id and frees its place for a later flow.
func (s *flowSlab) release(id flowID) {
	s.unlink(id)
	s.at(id).gen++
	s.free = append(s.free, id)
}

func (s *flowSlab) pushFront(id flowID) {
	l := s.link(id)
	l.newer, l.older = 0, s.head
	if s.head != 0 {
		s.link(s.head).newer = id
	}
	s.head = id
	if s.tail == 0 {
		s.tail = id
	}
}

func (s *flowSlab) unlink(id flowID) {
	l := s.link(id)
	if l.newer != 0 {
		s.link(l.newer).older = l.older
	} else {
		s.head = l.older
	}
	if l.older != 0 {
		s.link(l.older).newer = l.newer
	} else {
		s.tail = l.newer
	}
	l.newer, l.older = 0, 0
}

// toFront moves id to the head.
func (s *flowSlab) toFront(id flowID) {
	if s.head != id {
		s.unlink(id)
		s.pushFront(id)
	}
}

// bytes is the memory the slab holds.
func (s *flowSlab) bytes() uint64 {
	return uint64(len(s.chunks))*uint64(unsafe.Sizeof(flowChunk{})) + uint64(cap(s.free))*4
}
