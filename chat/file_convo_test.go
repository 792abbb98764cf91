package chat

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/chat/files"
	"github.com/lanchat/lanchat/session"
)

// askFile sends a file request for the manifest and the first chunk of
// the offer with root (hex) on link, and returns the answers' frame types.
func askFile(t *testing.T, link *session.Link, root string) []session.FrameType {
	t.Helper()
	var ref files.Ref
	b, err := hex.DecodeString(root)
	if err != nil || len(b) != len(ref.Root) {
		t.Fatalf("root %q: %v", root, err)
	}
	copy(ref.Root[:], b)
	var got []session.FrameType
	for _, kind := range []files.Kind{files.KindManifest, files.KindChunk} {
		ref.Kind = kind
		if err := link.Send(frameFileRequest, files.EncodeRequest(ref)); err != nil {
			t.Fatal(err)
		}
		frames := recvUntil(t, link, func(f session.Frame) bool { return f.Type == frameFileData || f.Type == frameFileNone })
		f := frames[len(frames)-1]
		if f.Type == frameFileNone {
			if r, why, err := files.DecodeNone(f.Body); err != nil || r != ref || why != files.ReasonUnknown {
				t.Fatalf("file-none %+v %v %v, want unknown for %+v", r, why, err, ref)
			}
		}
		got = append(got, f.Type)
	}
	return got
}

// A file offered to one person, and one offered in a private room, reach
// their members verified; a third node linked to the sender that knows
// the manifest roots gets file-none for both (and is served a lobby offer,
// so the check could fail).
func TestConversationFilesOnlyToMembers(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	carol := newID(t)
	c.trustAll(alice, bob)
	if _, err := c.openStore(alice).Trust(carol.Fingerprint(), "carol"); err != nil {
		t.Fatal(err)
	}
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	toAlice := rawMember(t, alice, carol)
	ctx := context.Background()

	src := t.TempDir()
	write := func(name string) (string, []byte) {
		content := randomBytes(t, files.DefaultChunkSize+99)
		path := filepath.Join(src, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		return path, content
	}
	path, content := write("plan.txt")
	prPath, prContent := write("private.txt")
	lobbyPath, _ := write("public.txt")
	dmOffer, err := alice.node.OfferFileTo(ctx, bob.id.Fingerprint(), path)
	if err != nil {
		t.Fatal(err)
	}
	if dmOffer.Room != DirectID(alice.id.Fingerprint(), bob.id.Fingerprint()) {
		t.Fatalf("the offer is in %s, want the direct conversation", dmOffer.Room)
	}
	room, err := alice.node.CreateRoom(ctx, "plans")
	if err != nil {
		t.Fatal(err)
	}
	op, err := alice.node.Invite(ctx, room, bob.id.Public())
	mustOp(t, "invite bob", op, err)
	waitFor(t, "bob to be a member", func() bool { return bob.node.convo(room) != nil })
	prOffer, err := alice.node.OfferFile(ctx, room, prPath)
	if err != nil {
		t.Fatal(err)
	}
	lobbyOffer := alice.offer(t, lobbyPath)
	for fv, want := range map[*FileView][]byte{dmOffer: content, prOffer: prContent} {
		waitFor(t, "bob to hold the offer in "+fv.Room, func() bool { return bob.fileState(t, fv.ID) != nil })
		if _, err := bob.node.Fetch(ctx, fv.ID, t.TempDir()); err != nil {
			t.Fatalf("bob fetches the offer in %s: %v", fv.Room, err)
		}
		sameFile(t, bob.waitFile(t, fv.ID, FileDone).Path, want)
	}
	for what, fv := range map[string]*FileView{"direct": dmOffer, "private": prOffer} {
		if got := askFile(t, toAlice, fv.Root); got[0] != frameFileNone || got[1] != frameFileNone {
			t.Errorf("carol asking for the %s offer got %v, want file-none twice", what, got)
		}
	}
	if got := askFile(t, toAlice, lobbyOffer.Root); got[0] != frameFileData || got[1] != frameFileData {
		t.Errorf("carol asking for the lobby offer got %v, want file-data twice", got)
	}
	// Nobody offers into a conversation of others.
	if _, err := bob.node.OfferFile(ctx, DirectID(alice.id.Fingerprint(), carol.Fingerprint()), path); err == nil {
		t.Error("bob offered a file in a direct conversation of others")
	}
	// The same content offered in lobby too is served to lobby's members.
	alice.offer(t, path)
	if got := askFile(t, toAlice, dmOffer.Root); got[0] != frameFileData || got[1] != frameFileData {
		t.Errorf("carol asking for the DM's file once offered in lobby too got %v, want file-data twice", got)
	}
}
