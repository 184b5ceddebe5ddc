package output

import (
	"strconv"
	"unicode/utf8"
)

// Escape makes s safe to print on a terminal: C0 control characters
// (including tab and newline), DEL, C1 control characters and bytes that
// are not UTF-8 are shown as Go-style escapes (\x1b, \n, \u009b), so that
// a container name or label from the Engine, or from a hostile socket,
// cannot move the cursor, retitle or clear the terminal, or forge a line.
// docker prints them raw; JSON output escapes them already and must not
// use this. A string with nothing to escape is returned as it is.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+8), s))
}

// AppendEscaped appends Escape(s) to dst.
func AppendEscaped(dst []byte, s string) []byte {
	if !needsEscape(s) {
		return append(dst, s...)
	}
	return appendEscaped(dst, s)
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b >= 0x80 {
			if b < 0x80 {
				return true
			}
			// Beyond ASCII, only C1 characters and invalid bytes count.
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 || isC1(r) {
				return true
			}
			i += size - 1
		}
	}
	return false
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		b := s[i]
		if b < 0x80 {
			switch {
			case b == '\t':
				dst = append(dst, `\t`...)
			case b == '\n':
				dst = append(dst, `\n`...)
			case b == '\r':
				dst = append(dst, `\r`...)
			case b < 0x20 || b == 0x7f:
				dst = appendHexEscape(dst, `\x`, uint64(b), 2)
			default:
				dst = append(dst, b)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = appendHexEscape(dst, `\x`, uint64(b), 2)
		case isC1(r):
			dst = appendHexEscape(dst, `\u`, uint64(r), 4)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func appendHexEscape(dst []byte, prefix string, v uint64, width int) []byte {
	dst = append(dst, prefix...)
	hex := strconv.FormatUint(v, 16)
	for range width - len(hex) {
		dst = append(dst, '0')
	}
	return append(dst, hex...)
}
