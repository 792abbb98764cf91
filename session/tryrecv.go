package session

// TryRecv returns the next application frame if one is already queued, and
// false at once if none is: a receiver uses it to take the frames that
// arrived together as one batch (chat verifies their signatures at once).
// Frames come out in order, shared with Recv.
func (l *Link) TryRecv() (Frame, bool) {
	return l.recvQ.tryPop()
}
