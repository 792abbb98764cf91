package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
)

// A name both an open room and a private room have: history, receipt and
// mark_read take kind as send does, and refuse the bare name as
// ambiguous, as the API's one rule says.
func TestWebRoomKind(t *testing.T) {
	alice := startNode(t, "alice", freeUDPPort(t), "127.0.0.1:0")
	ctx := context.Background()
	pr, err := alice.node.CreateRoom(ctx, control.CreateRoomParams{Name: "lobby"})
	if err != nil {
		t.Fatal(err)
	}
	open, err := alice.node.Send(ctx, control.SendParams{Room: "lobby", Kind: control.KindRoom, Body: "in the open lobby"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Send(ctx, control.SendParams{Room: pr.ID, Body: "in the private lobby"}); err != nil {
		t.Fatal(err)
	}
	li := alice.login(t)
	if status, _, body := li.request(t, "GET", "/api/history?room=lobby", "", nil); status != http.StatusConflict || !strings.Contains(body, "ambiguous") {
		t.Errorf("history of the bare name: %d %s, want 409 ambiguous", status, body)
	}
	var views []*control.MessageView
	if err := li.getJSON("/api/history?room=lobby&kind=room", &views); err != nil || len(views) != 1 || views[0].Body != "in the open lobby" {
		t.Errorf("history with kind room: %v, %v; want the open room's message alone", views, err)
	}
	if err := li.getJSON("/api/history?room=lobby&kind=private", &views); err != nil || len(views) == 0 || views[len(views)-1].Body != "in the private lobby" {
		t.Errorf("history with kind private: %v, %v; want the private room's message", views, err)
	}
	var r control.ReceiptView
	if err := li.getJSON("/api/receipt?room=lobby&kind=room&seq=1", &r); err != nil || r.ID != open.Message.ID {
		t.Errorf("receipt with kind room: %+v, %v; want the open room's message", r, err)
	}
	if status, _, body := li.request(t, "POST", "/api/mark_read", `{"room":"lobby"}`, li.sameOrigin(nil)); status != http.StatusConflict {
		t.Errorf("mark_read of the bare name: %d %s, want 409", status, body)
	}
	if status, _, body := li.request(t, "POST", "/api/mark_read", `{"room":"lobby","kind":"room"}`, li.sameOrigin(nil)); status != http.StatusOK {
		t.Errorf("mark_read with kind room: %d %s", status, body)
	}
}
