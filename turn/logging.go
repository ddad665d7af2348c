package turn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's logs into slog one level lower: pion reports routine
// events (a client gone, a permission refused) as info or errors.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger { return pionLogger{log: f.log} }

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.at(slog.LevelDebug-8, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.at(slog.LevelDebug-8, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.at(slog.LevelDebug-4, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.at(slog.LevelDebug-4, format, args...) }
func (l pionLogger) Info(msg string)                   { l.at(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.at(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.at(slog.LevelInfo, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.at(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.at(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.at(slog.LevelWarn, format, args...) }
