package main

import (
	"context"
	"github.com/lanchat/lanchat/control"
	"log"

	"github.com/spf13/pflag"

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

	noReadReceipts bool // the node sends no read markers
	// auto is the auto-fetch policy's flags (up and chat only), or nil.
	auto *autoFetchFlags
	// keep is --keep AGE (up and chat only): the global retention.
	keep string
	// dataPass, when set with identity, unlocks the history (sealed with
	// the passphrase chosen on the first run).
	dataPass []byte
}

func (e *env) addNodeFlags(fs *pflag.FlagSet, roomHelp string) *nodeFlags {
	f := &nodeFlags{}
	fs.StringArrayVar(&f.rooms, "room", nil, roomHelp)
	fs.StringVar(&f.nick, "nick", "", "nickname shown to your peers (default: the name given at init)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log link and discovery diagnostics to stderr")
	fs.BoolVar(&f.noReadReceipts, "no-read-receipts", false, "do not tell peers what you have read (you still see what they share)")
	f.disc = addDiscoveryFlags(fs, e.getenv)
	f.pass = addPassphraseFlags(fs)
	e.pf = f.pass
	return f
}

// runningNode is a node started by a command, with its store.
type runningNode struct {
	cn *control.Node
	db *storage.DB
}

// startNode opens the store, unlocks the identity and starts a node.
func (e *env) startNode(ctx context.Context, cmd string, f *nodeFlags) (*runningNode, error) {
	if err := f.disc.check(cmd); err != nil {
		return nil, err
	}
	if err := f.disc.usable(e.stderr); err != nil {
		return nil, err
	}
	if _, err := f.keepParams(); err != nil {
		return nil, err
	}
	rooms := f.rooms // none: the node's remembered rooms, else lobby
	for _, r := range rooms {
		if _, err := control.NormalizeRoom(r); err != nil {
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
	if f.dataPass != nil && !db.Unlocked() {
		err := db.Unlock(f.dataPass)
		clear(f.dataPass)
		if err != nil {
			return nil, err
		}
	}
	// Open the history now, not at the node's first read of it (where a
	// prompt would land in the middle of a chat).
	if err := db.UnlockNow(); err != nil {
		return nil, err
	}
	keep, err := f.keepParams()
	if err != nil {
		return nil, err
	}
	if err := e.applyKeep(ctx, control.NewLocal(db, ""), keep, f.verbose); err != nil {
		return nil, err
	}
	rec, err := db.Identity()
	if err != nil {
		return nil, err
	}
	cfg := control.DefaultNodeConfig()
	cfg.Identity, cfg.Store, cfg.Rooms = id, db, rooms
	cfg.Nickname = rec.Nickname
	if f.nick != "" {
		if err := control.CheckNick(f.nick); err != nil {
			return nil, usageErrorf("pick a shorter nickname without control characters", "--nick: %v", err)
		}
		cfg.Nickname = f.nick
	}
	f.disc.apply(&cfg)
	cfg.NoReadReceipts = f.noReadReceipts
	if f.auto != nil {
		if err := f.auto.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if f.verbose {
		logger := log.New(e.stderr, "lanchat: ", log.Ltime)
		cfg.Logf = logger.Printf
	}
	cn, err := control.StartNode(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &runningNode{cn: cn, db: db}, nil
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
func (rn *runningNode) stopNode() error { return rn.cn.Stop() }

// service is the node's API, for the front end that started it.
func (rn *runningNode) service() *control.Service { return rn.cn.Service }
