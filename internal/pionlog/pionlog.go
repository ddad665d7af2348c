// Package pionlog routes pion's loggers (webrtc, ice, turn) into slog. Pion
// reports routine events (a socket closed at shutdown, a client gone, a
// permission refused) as warnings and errors, so levels are lowered one step,
// and the warnings every session logs go to debug (routine.go): at the default
// level (info) an operator sees only what may need acting on.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory makes pion loggers that write to log with a "pion" attribute naming the scope.
type Factory struct{ Log *slog.Logger }

// NewLogger implements logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{log: f.Log.With("pion", scope)}
}

type logger struct{ log *slog.Logger }

func (l logger) at(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return // a routine message would only go lower
	}
	msg := fmt.Sprintf(format, args...)
	if level > slog.LevelDebug && routine(msg) {
		if level = slog.LevelDebug; !l.log.Enabled(ctx, level) {
			return
		}
	}
	l.log.Log(ctx, level, msg)
}

func (l logger) Trace(msg string)                  { l.at(slog.LevelDebug-8, "%s", msg) }
func (l logger) Tracef(format string, args ...any) { l.at(slog.LevelDebug-8, format, args...) }
func (l logger) Debug(msg string)                  { l.at(slog.LevelDebug-4, "%s", msg) }
func (l logger) Debugf(format string, args ...any) { l.at(slog.LevelDebug-4, format, args...) }
func (l logger) Info(msg string)                   { l.at(slog.LevelDebug, "%s", msg) }
func (l logger) Infof(format string, args ...any)  { l.at(slog.LevelDebug, format, args...) }
func (l logger) Warn(msg string)                   { l.at(slog.LevelInfo, "%s", msg) }
func (l logger) Warnf(format string, args ...any)  { l.at(slog.LevelInfo, format, args...) }
func (l logger) Error(msg string)                  { l.at(slog.LevelWarn, "%s", msg) }
func (l logger) Errorf(format string, args ...any) { l.at(slog.LevelWarn, format, args...) }
