package chatui

import (
	"bufio"
	"errors"
	"io"
)

// lineReader reads lines of any length without holding more than max bytes
// of one: a longer line is counted, dropped and reported.
type lineReader struct {
	r   io.Reader
	br  *bufio.Reader
	max int
}

// next returns the next line (without its end), or io.EOF after the last.
func (lr *lineReader) next() (lineIn, error) {
	if lr.br == nil {
		lr.br = bufio.NewReaderSize(lr.r, 64<<10)
	}
	var buf []byte
	n, over := 0, false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		n += len(chunk)
		if over = over || len(buf)+len(chunk) > lr.max+1; over { // +1: the newline
			buf = nil
		} else {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || n == 0) {
			return lineIn{}, err
		}
		end := 0
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			end = 1
		}
		if n-end > lr.max {
			return lineIn{tooLong: n - end}, nil
		}
		return lineIn{text: string(buf[:len(buf)-end])}, nil
	}
}
