package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
)

// runToken prints tokens for an operator's backend, signed with the server's secret.
func runToken(args []string, stdout, stderr io.Writer, env environ) int {
	fs := flag.NewFlagSet("openroom token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		user       = fs.String("user", "", "user ID (required)")
		roomName   = fs.String("room", "", "room: also print a privateMapKey for it")
		ttl        = fs.Duration("ttl", time.Hour, "how long the tokens live")
		privileges = fs.Uint("privileges", uint(auth.PrivAll), "privilege bits of the privateMapKey (255 all, 42 join+receive)")
		file       = fs.String("config", "", "YAML config file holding the secret")
		secret     = fs.String("secret", "", "token secret (default: from config or OPENROOM_SECRET)")
	)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "openroom token: "+format+"\n", a...)
		return 2
	}
	if err := parseFlags(fs, args, nil); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return fail("%v", err)
	}
	if *user == "" {
		return fail("--user is required")
	}
	if !room.ValidName(*user) {
		return fail("%v", room.ErrBadUserID)
	}
	if *roomName != "" && !room.ValidName(*roomName) {
		return fail("%v", room.ErrBadRoomName)
	}
	if *privileges > 255 {
		return fail("--privileges %d: want 0-255", *privileges)
	}
	for _, w := range config.UnknownEnv(env) {
		fmt.Fprintf(stderr, "openroom token: warning: %s\n", w)
	}
	cfg := config.Default()
	if *file != "" {
		if err := cfg.LoadFile(*file); err != nil {
			return fail("%v", err)
		}
	}
	if err := cfg.LoadEnv(env.lookup); err != nil {
		return fail("%v", err)
	}
	if *secret != "" {
		cfg.Secret = *secret
	}
	if cfg.Secret == "" {
		return fail("no secret: set secret in the config file, OPENROOM_SECRET or --secret (the server must use the same one)")
	}
	issuer, err := auth.NewIssuer([]byte(cfg.Secret), cfg.SDKAppID, nil)
	if err != nil {
		return fail("%v", err)
	}
	out := map[string]any{"userID": *user, "sdkAppID": cfg.SDKAppID, "expires": time.Now().Add(*ttl).UTC().Format(time.RFC3339)}
	if out["userSig"], err = issuer.UserSig(*user, *ttl); err != nil {
		return fail("%v", err)
	}
	if *roomName != "" {
		key, err := issuer.PrivateMapKey(*user, *roomName, uint32(*privileges), *ttl)
		if err != nil {
			return fail("%v", err)
		}
		out["roomID"], out["privateMapKey"], out["privileges"] = *roomName, key, *privileges
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}
