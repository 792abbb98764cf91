package control

import (
	"context"
	"errors"
	"testing"

	"github.com/lanchat/lanchat/chat"
)

// A name that both an open room the node is in and a private room have:
// a send that does not say which is refused (never sent to the wrong
// one), and one that says goes where it says.
func TestSendToAnAmbiguousRoomName(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	c.start(alice)
	api := alice.service()
	ctx := context.Background()
	if _, err := api.Join(ctx, "design"); err != nil {
		t.Fatal(err)
	}
	pr, err := api.CreateRoom(ctx, CreateRoomParams{Name: "design"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.Send(ctx, SendParams{Room: "design", Body: "which one?"})
	if !errors.Is(err, chat.ErrAmbiguous) {
		t.Fatalf("send to an ambiguous name: %v, want ambiguous", err)
	}
	for _, tc := range []struct{ kind, room, want string }{
		{KindRoom, "design", "design"},
		{KindPrivate, "design", pr.ID},
		{"", pr.ID, pr.ID},
	} {
		res, err := api.Send(ctx, SendParams{Room: tc.room, Kind: tc.kind, Body: "to " + tc.kind})
		if err != nil || res.Message.Room != tc.want {
			t.Fatalf("kind %q: %+v, %v; want room %s", tc.kind, res, err, tc.want)
		}
	}
	if _, err := api.Send(ctx, SendParams{Room: "nope", Kind: KindPrivate, Body: "x"}); !errors.Is(err, chat.ErrNotMember) {
		t.Fatalf("kind private, no such room: %v", err)
	}
}
