package output

import "bytes"

// Framer turns rendered frames into what is written to the output.
type Framer interface {
	// Frame returns the bytes that show body, to be written in one Write.
	Frame(body []byte) []byte
	// Restore returns the bytes that leave the output as it was found.
	Restore() []byte
}

// NewFramer returns a Screen for a terminal and a Plain framer otherwise.
func NewFramer(tty bool) Framer {
	if tty {
		return &Screen{}
	}
	return &Plain{}
}

const (
	cursorHome     = "\x1b[H"
	eraseLineRight = "\x1b[K"
	eraseBelow     = "\x1b[J"
	hideCursor     = "\x1b[?25l"
	showCursor     = "\x1b[?25h"
)

// Screen redraws frames in place on a terminal. Each frame overwrites the
// previous one line by line and erases only what is left over, so nothing
// flickers the way a full clear does.
type Screen struct {
	// Height is the terminal's rows; 0 means unlimited. Lines past it are
	// dropped because writing them would scroll the frame off its home.
	Height int

	drawn bool
}

// Frame returns one write that homes the cursor, draws each line of body
// followed by erase-to-end-of-line, and erases everything below.
func (s *Screen) Frame(body []byte) []byte {
	body = bytes.TrimSuffix(body, []byte{'\n'})
	lines := bytes.Count(body, []byte{'\n'}) + 1
	out := make([]byte, 0, len(body)+lines*(len(eraseLineRight)+2)+32)
	if !s.drawn {
		out = append(out, hideCursor...)
		s.drawn = true
	}
	out = append(out, cursorHome...)
	for n := 0; ; n++ {
		line, rest, more := bytes.Cut(body, []byte{'\n'})
		out = append(out, line...)
		out = append(out, eraseLineRight...)
		if !more || (s.Height > 0 && n+1 >= s.Height) {
			break
		}
		// CR as well as LF: the terminal may be in raw mode to read keys,
		// where a bare LF only moves down. No newline after the last line,
		// so a frame as tall as the screen does not scroll it.
		out = append(out, '\r', '\n')
		body = rest
	}
	return append(out, eraseBelow...)
}

// Restore shows the cursor again and moves below the last frame, so the
// shell prompt starts on a line of its own. Nil if no frame was drawn.
func (s *Screen) Restore() []byte {
	if !s.drawn {
		return nil
	}
	s.drawn = false
	return []byte("\r\n" + showCursor)
}

// Plain writes frames one after another, separated by a blank line, with
// no escape codes: for pipes and files.
type Plain struct {
	frames int
}

// Frame returns body, after a blank line unless it is the first frame.
func (p *Plain) Frame(body []byte) []byte {
	out := make([]byte, 0, len(body)+2)
	if p.frames > 0 {
		out = append(out, '\n')
	}
	p.frames++
	out = append(out, body...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// Restore returns nothing: plain output leaves nothing to undo.
func (p *Plain) Restore() []byte { return nil }
