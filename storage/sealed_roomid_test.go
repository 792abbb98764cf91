package storage

import (
	"bytes"
	"fmt"
	"testing"
)

// TestRoomIDCacheAgrees: the remembered room ids are the HMAC's, for the
// rooms under the bound and past it, and a caller changing the slice it got
// changes nothing for the next.
func TestRoomIDCacheAgrees(t *testing.T) {
	k, err := newKeyring(bytes.Repeat([]byte{9}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range maxCachedRoomIDs + 10 {
			room := fmt.Sprintf("room-%d", i)
			got := k.roomID(room)
			if want := computeRoomID(k.index, room); !bytes.Equal(got, want) {
				t.Fatalf("round %d, %s: %x, want %x", round, room, got, want)
			}
			got[0] ^= 0xff // the caller's to change
		}
	}
	if n := k.roomIDCount.Load(); n != maxCachedRoomIDs {
		t.Fatalf("%d room ids remembered, want the bound %d", n, maxCachedRoomIDs)
	}
	other, err := newKeyring(bytes.Repeat([]byte{8}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.roomID("lobby"), k.roomID("lobby")) {
		t.Fatal("two data keys give one room id")
	}
}
