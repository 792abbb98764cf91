package chatui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// offerFile is /file PATH: offer it in the current room.
func (s *interp) offerFile(ctx context.Context, arg string) {
	if arg == "" {
		s.notice("usage: /file PATH (a file or a folder)")
		return
	}
	if s.room == "" {
		s.notice("not offered: you are in no room; /join ROOM first")
		return
	}
	path, err := filepath.Abs(arg)
	if err != nil {
		s.notice("cannot offer %s: %v", SanitizeLine(arg), err)
		return
	}
	p := control.SendFileParams{Room: s.room, Path: path}
	where, serves := "#"+s.room, "members who fetch it serve it too, so you may go once one of them has it all"
	if peer := directTarget(s.room); peer != "" { // a /query PEER conversation
		p = control.SendFileParams{To: peer, Path: path}
		where, serves = SanitizeLine(convoName(s.room)), "only they can fetch it"
	} else if name, ok := s.privateNames[s.room]; ok {
		where = "#" + SanitizeLine(name) + MarkPrivate
	}
	fv, err := s.api.SendFile(ctx, p)
	if err != nil {
		s.notice("cannot offer %s: %s", SanitizeLine(arg), errText(err))
		return
	}
	if p.To != "" {
		s.noteDirect(s.room, fv.Room)
	}
	s.notice("offered %s in %s as %s: your node serves it while it runs; %s",
		SanitizeLine(fv.Name), where, fv.ID[:min(12, len(fv.ID))], serves)
	if len(fv.Skipped) > 0 {
		s.notice("left out of %s (symlinks or special files): %s", SanitizeLine(fv.Name), SanitizeLine(strings.Join(fv.Skipped, ", ")))
	}
}

// listFiles is /files.
func (s *interp) listFiles(ctx context.Context) {
	list, err := s.api.Files(ctx)
	if err != nil {
		s.notice("cannot list the files: %s", errText(err))
		return
	}
	if len(list) == 0 {
		s.notice("no file offers in your rooms; /file PATH offers one")
	}
	labels := map[string]string{}
	if rooms, err := s.api.RoomStatus(ctx); err == nil { // only names: without them, the fallback below
		for _, r := range rooms {
			labels[r.Room] = RoomLabel(r)
		}
	}
	for _, f := range list {
		s.notice("%s", fileLine(f, s.fileWhere(f, labels)))
	}
}

// fileWhere names the conversation of an offer as the chat does (#lobby,
// @bob, #design[private]): from labels (RoomStatus, may be nil), else from
// what this window knows, never by a conversation's raw id if it can help.
func (s *interp) fileWhere(f *control.FileView, labels map[string]string) string {
	if l := labels[f.Room]; l != "" {
		return l
	}
	if name, ok := s.privateNames[f.Room]; ok {
		return "#" + name + MarkPrivate
	}
	if control.ConvoKind(f.Room) == control.KindDirect {
		for peer, id := range s.directIDs {
			if id == f.Room {
				return peer
			}
		}
		if !f.Own { // the author is the other person
			if f.Nick != "" {
				return "@" + f.Nick
			}
			return "@" + f.FromShort
		}
	}
	return "#" + f.Room
}

// fileLine is one offer as /files and the file events show it, in where.
func fileLine(f *control.FileView, where string) string {
	have := "100%"
	if f.Size > 0 {
		have = fmt.Sprintf("%d%%", f.Have*100/f.Size)
	}
	l := fmt.Sprintf("%s %s %s (%s, %s held) from %s in %s", f.ID[:min(12, len(f.ID))], f.State, f.Name, control.HumanSize(f.Size), have, nameLabel(f.Nick, f.FromShort), where)
	if f.Path != "" {
		l += " at " + f.Path
	}
	if f.Error != "" {
		l += ": " + f.Error
	}
	return SanitizeLine(l)
}

// fetch is /fetch ID [DIR].
func (s *interp) fetch(ctx context.Context, arg string) {
	id, dir, _ := strings.Cut(strings.TrimSpace(arg), " ")
	if id == "" {
		s.notice("usage: /fetch ID [DIR] (/files lists the ids)")
		return
	}
	if dir = strings.TrimSpace(dir); dir == "" {
		dir = "."
	}
	out, err := filepath.Abs(dir)
	if err != nil {
		s.notice("cannot fetch: %v", err)
		return
	}
	fv, err := s.api.Fetch(ctx, control.FetchParams{ID: id, Out: out})
	if err != nil {
		s.notice("cannot fetch: %s", errText(err))
		return
	}
	if fv.State == control.FileDone {
		s.notice("%s", fileLine(fv, s.fileWhere(fv, nil)))
		return
	}
	s.notice("fetching %s (%s) into %s; you are told when it is done", SanitizeLine(fv.Name), control.HumanSize(fv.Size), SanitizeLine(out))
}

// fileEvent shows a fetch's changes of state (not every progress step).
func (s *interp) fileEvent(f *control.FileView) {
	if f == nil {
		return
	}
	key := f.State + f.Error
	if s.fileStates == nil {
		s.fileStates = map[string]string{}
	}
	if s.fileStates[f.ID] == key || f.State == control.FileFetching {
		s.fileStates[f.ID] = key
		return
	}
	s.fileStates[f.ID] = key
	s.notice("%s", fileLine(f, s.fileWhere(f, nil)))
}
