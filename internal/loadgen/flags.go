package loadgen

import "flag"

// AddFlags registers the flags of the load (members, media, phases) on fs,
// with c's values as defaults; the flags set c's fields. The server's address
// and the output are the command's.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Room, "room", c.Room, "room to join")
	fs.IntVar(&c.Publishers, "publishers", c.Publishers, "members that publish audio and video (and receive each other)")
	fs.IntVar(&c.Subscribers, "subscribers", c.Subscribers, "members that only receive")
	fs.IntVar(&c.Subscribers, "n", c.Subscribers, "the same as --subscribers")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process to measure, on this machine (0: count packets only)")
	fs.IntVar(&c.Video.Bitrate, "video-bitrate", c.Video.Bitrate, "average video bitrate, bit/s")
	fs.IntVar(&c.Video.FPS, "fps", c.Video.FPS, "video frames per second")
	fs.DurationVar(&c.Video.KeyframeInterval, "keyframe-interval", c.Video.KeyframeInterval, "a keyframe this often")
	fs.IntVar(&c.Video.KeyframeWeight, "keyframe-weight", c.Video.KeyframeWeight, "a keyframe is this many times another frame")
	fs.IntVar(&c.Video.MaxPayload, "video-payload", c.Video.MaxPayload, "largest video RTP payload, bytes")
	fs.Float64Var(&c.Video.Pacing, "pacing", c.Video.Pacing, "spread a frame's packets at this many times the video bitrate, as a browser's pacer does (2.5); 0: back to back")
	fs.IntVar(&c.AudioPayload, "audio-payload", c.AudioPayload, "Opus RTP payload, bytes (50 packets/s)")
	fs.IntVar(&c.JoinParallel, "join-parallel", c.JoinParallel, "subscribers joining at once")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "after the publishers connect, before the idle RSS")
	fs.DurationVar(&c.IdleSample, "idle", c.IdleSample, "the idle RSS is averaged over this")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "after every subscriber receives media, before measuring")
	fs.DurationVar(&c.Window, "window", c.Window, "measurement window")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", c.ReadyTimeout, "for a publisher to connect and the subscribers to receive media")
	fs.StringVar(&c.Arrival, "arrival", c.Arrival, `what the one-way delay is measured to: "kernel" (when a packet reached the member's socket) or "read" (when the member read it)`)
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the payload noise")
}
