package control

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/storage"
)

// A name both an open room the node is in and a private room have is read
// by one rule in send, history, receipt and mark_read, with a node and
// without: ambiguous unless kind says which, and a private room's id
// always names it.
func TestAmbiguousRoomNameOneRule(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	_, static := alice.id.NoiseStatic()
	if err := c.openStore(alice).PutIdentity(storage.IdentityRecord{Key: alice.id.Public(), NoiseStatic: static,
		Secret: alice.id.MarshalSecret(), Nickname: "alice"}); err != nil { // for Local
		t.Fatal(err)
	}
	c.start(alice)
	svc := alice.service()
	ctx := context.Background()
	if _, err := svc.Join(ctx, "design"); err != nil {
		t.Fatal(err)
	}
	pr, err := svc.CreateRoom(ctx, CreateRoomParams{Name: "design"})
	if err != nil {
		t.Fatal(err)
	}
	open, err := svc.Send(ctx, SendParams{Room: "design", Kind: KindRoom, Body: "open one"})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := svc.Send(ctx, SendParams{Room: pr.ID, Body: "private one"})
	if err != nil {
		t.Fatal(err)
	}

	check := func(name string, api API, withSend bool) {
		t.Helper()
		if withSend {
			if _, err := api.Send(ctx, SendParams{Room: "design", Body: "which one?"}); !errors.Is(err, chat.ErrAmbiguous) {
				t.Errorf("%s: send to the bare name: %v, want ambiguous", name, err)
			}
		}
		if _, err := api.History(ctx, HistoryParams{Rooms: []string{"design"}}); !errors.Is(err, chat.ErrAmbiguous) {
			t.Errorf("%s: history of the bare name: %v, want ambiguous", name, err)
		}
		if _, err := api.Receipt(ctx, ReceiptParams{Room: "design", Seq: 1}); !errors.Is(err, chat.ErrAmbiguous) {
			t.Errorf("%s: receipt in the bare name: %v, want ambiguous", name, err)
		}
		if _, err := api.MarkRead(ctx, MarkReadParams{Room: "design"}); !errors.Is(err, chat.ErrAmbiguous) {
			t.Errorf("%s: mark_read of the bare name: %v, want ambiguous", name, err)
		}
		for _, tc := range []struct {
			room, kind string
			want       *chat.MessageView
		}{
			{"design", KindRoom, open.Message},
			{"#design", KindRoom, open.Message},
			{"design", KindPrivate, priv.Message},
			{pr.ID, "", priv.Message},
			{pr.ID, KindPrivate, priv.Message},
		} {
			views, err := api.History(ctx, HistoryParams{Rooms: []string{tc.room}, Kind: tc.kind})
			if err != nil || len(views) == 0 || views[len(views)-1].ID != tc.want.ID {
				t.Errorf("%s: history of %q kind %q: %d messages, %v; want the one %q last", name, tc.room, tc.kind, len(views), err, tc.want.Body)
			}
			r, err := api.Receipt(ctx, ReceiptParams{Room: tc.room, Kind: tc.kind, Seq: tc.want.Seq})
			if err != nil || r.ID != tc.want.ID {
				t.Errorf("%s: receipt in %q kind %q: %+v, %v; want message %q", name, tc.room, tc.kind, r, err, tc.want.Body)
			}
			st, err := api.MarkRead(ctx, MarkReadParams{Room: tc.room, Kind: tc.kind})
			if err != nil || st.Room != tc.want.Room {
				t.Errorf("%s: mark_read of %q kind %q: %+v, %v; want room %s", name, tc.room, tc.kind, st, err, tc.want.Room)
			}
		}
		if _, err := api.History(ctx, HistoryParams{Rooms: []string{"design"}, Kind: "direct"}); err == nil {
			t.Errorf("%s: history with kind direct: no error", name)
		}
	}
	check("node", svc, true)
	c.stop(alice)
	check("no node", NewLocal(c.openStore(alice), filepath.Dir(alice.dbPath)), false)
	alice.store.Close()
	alice.store = nil
}
