package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc: 100 on every Linux
// architecture Go runs on (the kernel's HZ may differ; /proc always reports in USER_HZ).
const clockTick = 10 * time.Millisecond

// procFS reads process and machine counters from a proc filesystem (normally /proc).
type procFS struct{ root string }

// ProcSample is one reading of a process's counters.
type ProcSample struct {
	CPU time.Duration // user + system time since the process started, all threads
	RSS int64         // resident set size, bytes (VmRSS)
}

// process reads pid's CPU time (/proc/PID/stat) and resident set (/proc/PID/status).
// pid 0 means this process.
func (p procFS) process(pid int) (ProcSample, error) {
	dir := "self"
	if pid != 0 {
		dir = strconv.Itoa(pid)
	}
	stat, err := os.ReadFile(filepath.Join(p.root, dir, "stat"))
	if err != nil {
		return ProcSample{}, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcSample{}, err
	}
	status, err := os.ReadFile(filepath.Join(p.root, dir, "status"))
	if err != nil {
		return ProcSample{}, err
	}
	rss, err := parseStatusRSS(status)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{CPU: cpu, RSS: rss}, nil
}

// parseStatCPU returns utime + stime of a /proc/PID/stat line. The command name
// (field 2) may hold spaces and parentheses, so fields are counted from its last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: malformed stat %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: short stat %q", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: stat cpu field %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// parseStatusRSS returns VmRSS of a /proc/PID/status file, in bytes.
func parseStatusRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("loadgen: malformed VmRSS %q", rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("loadgen: no VmRSS in status (process gone or a kernel thread)")
}

// machineCPU is the machine-wide CPU time from /proc/stat: busy (everything but
// idle and iowait) and total, summed over all CPUs.
type machineCPU struct{ busy, total time.Duration }

func (p procFS) machine() (machineCPU, error) {
	data, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return machineCPU{}, err
	}
	return parseMachineCPU(data)
}

// parseMachineCPU reads the aggregate "cpu" line of /proc/stat.
func parseMachineCPU(data []byte) (machineCPU, error) {
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("loadgen: malformed /proc/stat %q", line)
	}
	var m machineCPU
	// user nice system idle iowait irq softirq steal (guest time is already in user).
	for i, s := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("loadgen: /proc/stat field %q: %w", s, err)
		}
		d := time.Duration(n) * clockTick
		m.total += d
		if i != 3 && i != 4 { // idle, iowait
			m.busy += d
		}
	}
	return m, nil
}

// cpuCount counts the CPUs listed in /proc/stat ("cpu0", "cpu1", ...).
func (p procFS) cpuCount() int {
	data, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}
