package main

import (
	"path/filepath"

	"context"
	"fmt"
	"github.com/lanchat/lanchat/control"
	"log"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// nodeFlags are the flags of the commands that run a node (chat, send).
type nodeFlags struct {
	rooms   []string
	nick    string
	verbose bool
	disc    *discoveryFlags
	pass    *passphraseFlags
	// identity, when set (by chat's first run), is used as it is: no
	// passphrase is asked again.
	identity *lcrypto.Identity
}

func (e *env) addNodeFlags(fs *pflag.FlagSet, roomHelp string) *nodeFlags {
	f := &nodeFlags{}
	fs.StringArrayVar(&f.rooms, "room", nil, roomHelp)
	fs.StringVar(&f.nick, "nick", "", "nickname shown to your peers (default: the name given at init)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log link and discovery diagnostics to stderr")
	f.disc = addDiscoveryFlags(fs, e.getenv)
	f.pass = addPassphraseFlags(fs)
	return f
}

// runningNode is a node started by a command, with its store.
type runningNode struct {
	node *chat.Node
	db   *storage.DB
	done chan error
	stop context.CancelFunc
}

// startNode opens the store, unlocks the identity and starts a node.
func (e *env) startNode(ctx context.Context, cmd string, f *nodeFlags) (*runningNode, error) {
	if err := f.disc.check(cmd); err != nil {
		return nil, err
	}
	if err := f.disc.usable(e.stderr); err != nil {
		return nil, err
	}
	rooms := f.rooms // none: the node's remembered rooms, else lobby
	for _, r := range rooms {
		if _, err := chat.NormalizeRoom(r); err != nil {
			return nil, usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "%s: %v", cmd, err)
		}
	}
	db, err := e.openStore(readWrite)
	if err != nil {
		return nil, err
	}
	rn, err := e.startNodeOn(ctx, db, rooms, f)
	if err != nil {
		db.Close()
		return nil, err
	}
	return rn, nil
}

func (e *env) startNodeOn(ctx context.Context, db *storage.DB, rooms []string, f *nodeFlags) (*runningNode, error) {
	id := f.identity
	if id == nil {
		var err error
		if id, err = e.loadIdentity(ctx, db, f.pass); err != nil {
			return nil, err
		}
	}
	rec, err := db.Identity()
	if err != nil {
		return nil, err
	}
	cfg := chat.DefaultConfig()
	cfg.Identity, cfg.Store, cfg.Rooms = id, db, rooms
	cfg.Nickname = rec.Nickname
	if f.nick != "" {
		if err := chat.CheckNick(f.nick); err != nil {
			return nil, usageErrorf("pick a shorter nickname without control characters", "--nick: %v", err)
		}
		cfg.Nickname = f.nick
	}
	f.disc.apply(&cfg)
	if f.verbose {
		logger := log.New(e.stderr, "lanchat: ", log.Ltime)
		cfg.Logf = logger.Printf
	}
	node, err := chat.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	rn := &runningNode{node: node, db: db, done: make(chan error, 1), stop: cancel}
	go func() { rn.done <- node.Run(ctx) }()
	listening := make(chan error, 1)
	go func() { _, err := node.Addr(ctx); listening <- err }() // ends with ctx at the latest
	select {
	case err := <-rn.done: // Run ended before it listened: the port is taken, or ctx ended
		cancel()
		<-listening
		if err == nil {
			err = context.Canceled
		}
		return nil, fmt.Errorf("starting the node: %w", err)
	case err := <-listening:
		if err != nil {
			cancel()
			return nil, fmt.Errorf("starting the node: %w", <-rn.done)
		}
	}
	return rn, nil
}

// shutdown stops the node (bye, links closed with a reason, store flushed)
// and closes the store.
func (rn *runningNode) shutdown() error {
	err := rn.stopNode()
	if cerr := rn.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// stopNode stops the node; the store stays open.
func (rn *runningNode) stopNode() error {
	rn.stop()
	return <-rn.done
}

// service is the node's API, for the front end that started it.
func (rn *runningNode) service() *control.Service {
	return control.NewService(rn.node, rn.db, filepath.Dir(rn.db.Path()))
}
