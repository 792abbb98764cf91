package chatui

import (
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// The chat line grammar, the same in every mode:
//
//	/cmd args      a command (/help lists them)
//	//text         sends "/text"
//	#room text     sends text to another room you are in
//	##text         sends "#text"
//	anything else  sends the line to the current room
//
// "#word" alone (no text after it) is sent as it is.

// input is one parsed chat line: a command, or text to send.
type input struct {
	cmd  string // "/join"...; "" for text
	arg  string // the command's argument, trimmed
	room string // the room "#room text" named; "" for the current room
	text string // what to send
}

// parseLine reads one typed line; ok is false for a blank line.
func parseLine(line string) (in input, ok bool) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return input{}, false
	}
	switch {
	case strings.HasPrefix(line, "//"), strings.HasPrefix(line, "##"):
		return input{text: line[1:]}, true
	case strings.HasPrefix(line, "/"):
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		return input{cmd: strings.ToLower(cmd), arg: strings.TrimSpace(arg)}, true
	case strings.HasPrefix(line, "#"):
		if room, text, found := strings.Cut(line[1:], " "); found && room != "" {
			return input{room: room, text: text}, true
		}
	}
	return input{text: line}, true
}

// parseTrustArgs reads "FP [NAME]": the fingerprint may be typed in groups
// separated by spaces, and the name may have spaces of its own.
func parseTrustArgs(arg string) (fp lcrypto.Fingerprint, name string, err error) {
	fields := strings.Fields(arg)
	if len(fields) == 0 {
		_, err = lcrypto.ParseFingerprint("")
		return fp, "", err
	}
	for k := 1; k <= len(fields); k++ {
		if f, perr := lcrypto.ParseFingerprint(strings.Join(fields[:k], " ")); perr == nil {
			return f, strings.Join(fields[k:], " "), nil
		}
	}
	_, err = lcrypto.ParseFingerprint(fields[0]) // the error of the likeliest form
	if len(fields[0]) < 20 {
		_, err = lcrypto.ParseFingerprint(strings.Join(fields, " "))
	}
	return fp, "", err
}

// splitBody cuts s into pieces of at most limit bytes that join back to s:
// at a space in the last quarter of a piece if there is one, else between
// two grapheme clusters (never inside a character).
func splitBody(s string, limit int) []string {
	var out []string
	for len(s) > limit {
		cut := clusterCut(s, limit)
		if sp := strings.LastIndexByte(s[:cut], ' '); sp >= cut-limit/4 && sp > 0 {
			cut = sp + 1
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// clusterCut is the last grapheme cluster boundary in s at or before limit
// (> 0); a cluster longer than limit is cut between runes.
func clusterCut(s string, limit int) int {
	cut, state := 0, -1
	for rest := s; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if cut+len(c) > limit {
			break
		}
		cut += len(c)
	}
	if cut > 0 {
		return cut
	}
	for cut = limit; cut > 0 && !utf8.RuneStart(s[cut]); cut-- {
	}
	return max(cut, 1)
}
