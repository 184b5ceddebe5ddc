package streamer

import "encoding/json"

// noteListen records in info.json a TCP listener added to the running
// streamer (POST /v1/listen, from `docker live open`), so that status and
// later commands find it and its token.
func noteListen(paths Paths, addr string) {
	info, err := ReadInfo(paths.Info)
	if err != nil {
		return
	}
	info.Listen, info.TokenFile = addr, paths.Token
	if data, err := json.Marshal(info); err == nil {
		_ = WriteFile0600(paths.Info, data)
	}
}
