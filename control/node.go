package control

import (
	"context"
	"fmt"
	"github.com/lanchat/lanchat/chat/files"
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/chat"
)

// NodeConfig is the configuration of a node a front end starts in its own
// process (chat.Config: identity, store, rooms, nickname, discovery, ports).
type NodeConfig = chat.Config

// DefaultNodeConfig returns a fresh NodeConfig with every default set.
func DefaultNodeConfig() NodeConfig { return chat.DefaultConfig() }

// Node is a node running in this process, started by StartNode, with its
// API.
type Node struct {
	*Service
	done     chan error
	stop     context.CancelFunc
	retained chan struct{} // closed when the retention loop has ended
}

// StartNode starts a node with cfg and returns once it listens for links
// (or failed to: the port is taken, ctx ended). Stop it with Stop; cfg.Store
// stays open (the caller closes it).
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.FilesDir == "" {
		cfg.FilesDir = FilesDir(filepath.Dir(cfg.Store.Path()))
	}
	node, err := chat.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Node{Service: NewService(node, cfg.Store, filepath.Dir(cfg.Store.Path())), done: make(chan error, 1), stop: cancel,
		retained: make(chan struct{})}
	go func() { n.done <- node.Run(ctx) }()
	listening := make(chan error, 1)
	go func() { _, err := node.Addr(ctx); listening <- err }() // ends with ctx at the latest
	select {
	case err := <-n.done: // Run ended before it listened
		cancel()
		<-listening
		if err == nil {
			err = context.Canceled
		}
		return nil, fmt.Errorf("starting the node: %w", err)
	case err := <-listening:
		if err != nil {
			cancel()
			return nil, fmt.Errorf("starting the node: %w", <-n.done)
		}
	}
	go n.retain(ctx, cfg)
	return n, nil
}

// retain applies the retention settings at once and every
// RetentionInterval, until ctx ends.
func (n *Node) retain(ctx context.Context, cfg NodeConfig) {
	defer close(n.retained)
	t := time.NewTicker(RetentionInterval)
	defer t.Stop()
	for {
		deleted, err := chat.ApplyRetention(cfg.Store, time.Now())
		if cfg.Logf != nil && (err != nil || deleted > 0) {
			cfg.Logf("retention: deleted %d messages (%v)", deleted, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops the node: bye to its peers, links closed with a reason, the
// store flushed. It returns Run's error.
func (n *Node) Stop() error {
	n.stop()
	err := <-n.done
	<-n.retained
	return err
}

// The schema's objects that package chat defines, named here so that a
// front end needs no other package.
type (
	MessageView = chat.MessageView
	Event       = chat.Event
	EventKind   = chat.EventKind
	PeerEntry   = chat.PeerEntry
	PeerView    = chat.PeerView
	ReceiptView = chat.ReceiptView
	RoomStatus  = chat.RoomStatus
)

// The kinds of Event (chat.EventKind), as front ends switch on them.
const (
	EventMessage       = chat.EventMessage
	EventPeerUp        = chat.EventPeerUp
	EventPeerDown      = chat.EventPeerDown
	EventJoin          = chat.EventJoin
	EventLeave         = chat.EventLeave
	EventNick          = chat.EventNick
	EventUntrusted     = chat.EventUntrusted
	EventUntrustedMany = chat.EventUntrustedMany
	EventRefused       = chat.EventRefused
	EventRelinkBackoff = chat.EventRelinkBackoff
	EventEquivocation  = chat.EventEquivocation
	EventDropped       = chat.EventDropped
	EventReceipt       = chat.EventReceipt
	EventPresence      = chat.EventPresence
	EventTyping        = chat.EventTyping
	EventFile          = chat.EventFile
	EventDeleted       = chat.EventDeleted
)

// FileView is a file offer and its fetch (the schema's file object).
type FileView = chat.FileView

// File states, as FileView.State shows them.
const (
	FileOffered  = chat.FileOffered
	FileFetching = chat.FileFetching
	FilePaused   = chat.FilePaused
	FileDone     = chat.FileDone
	FileFailed   = chat.FileFailed
)

// FilesDir is where a node on dataDir keeps its file transfer records.
func FilesDir(dataDir string) string { return filepath.Join(dataDir, "files") }

// ErrNotJoined is what sending to a room the node is not in returns
// (errors.Is also holds for a Client's not_joined error).
var ErrNotJoined = chat.ErrNotJoined

// NewPeerEntry builds a peer object (PROTOCOL.md section 6) for key, as
// heard by discovery and/or linked.
var NewPeerEntry = chat.NewPeerEntry

// Limits and rules of the chat a front end checks before it asks.
const (
	MaxBodyBytes = chat.MaxBodyBytes
	DefaultRoom  = chat.DefaultRoom
	DefaultPort  = chat.DefaultPort
)

// NormalizeRoom returns a room's normal name, or why it is not one.
func NormalizeRoom(name string) (string, error) { return chat.NormalizeRoom(name) }

// NormalizeOpenRoom is NormalizeRoom for an open room: the prefixes of
// conversation identifiers ("dm.", "pr.") are refused.
func NormalizeOpenRoom(name string) (string, error) { return chat.NormalizeOpenRoom(name) }

// CheckNick reports why a nickname breaks the rules, if it does.
func CheckNick(nick string) error { return chat.CheckNick(nick) }

// HumanSize formats a byte count for people: 512 B, 1.5 KiB, 3.2 GiB (the
// way file offers say their size).
func HumanSize(n uint64) string { return files.HumanSize(n) }
