package lvs

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// routeMobyLogs sends what github.com/moby/ipvs logs to log (nil: nowhere)
// instead of stderr in logrus's text format, which would bypass lvsd's
// --log-format. moby/ipvs logs only in the setup its first ipvs.New runs
// (a failed `modprobe ip_vs`, a missing IPVS family) and only through
// logrus's standard logger; it takes no logger of its own. So this sets
// that global logger of a dependency: the one place lvsd does, because lvs
// is lvsd's only user of logrus. Setting it on each open needs no state
// of lvs's own; the newest kernel's logger wins, and lvsd opens one.
func routeMobyLogs(log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hooks := logrus.LevelHooks{}
	hooks.Add(slogHook{log: log.With("from", "github.com/moby/ipvs")})
	std := logrus.StandardLogger()
	std.ReplaceHooks(hooks)
	std.SetOutput(io.Discard)
}

// slogHook hands logrus entries to a slog logger.
type slogHook struct{ log *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelInfo
	switch {
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	case e.Level == logrus.WarnLevel:
		level = slog.LevelWarn
	case e.Level >= logrus.DebugLevel:
		level = slog.LevelDebug
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.log.Log(context.Background(), level, e.Message, attrs...)
	return nil
}
