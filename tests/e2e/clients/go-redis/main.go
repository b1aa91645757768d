// Test-only (tests/e2e/clients.test.ts): an application's go-redis
// FailoverClient made from the stack's `connection.goRedis` output alone, which
// writes numbered keys until told to stop, then reads them back.
//
// Protocol, the same for every client program of the test (nothing secret on a
// command line or in the environment):
//
//	stdin, first line:  {"settings": <connection.goRedis, passwords filled in>, "prefix": "<key prefix>"}
//	stdin, later:       "stop" (or end of input): stop writing, read back, report
//	stdout:             {"progress": {"acked": n, "byServer": {"ip:port": n}, "errors": n}} about every 500 ms,
//	                    then one {"report": {"acks": [[i, unixMs, "ip:port"]], "errors": [[unixMs, "message"]],
//	                    "readBack": {"via": "...", "missing": [i]}}}
//
// Each write is SET in a pipeline with CLIENT INFO, whose laddr names the
// server that acknowledged it (the library does not expose it).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

type request struct {
	// The output's field names are FailoverOptions' own, so it unmarshals into it as it is.
	Settings redis.FailoverOptions `json:"settings"`
	Prefix   string                `json:"prefix"`
}

type ack struct {
	i      int
	at     int64
	server string
}

type record struct {
	mu       sync.Mutex
	acks     []ack
	errors   [][2]any
	byServer map[string]int
}

var laddr = regexp.MustCompile(`(?:^| )laddr=(\S+)`)

func main() {
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		fail("no settings on stdin: %v", err)
	}
	var req request
	if err := json.Unmarshal([]byte(line), &req); err != nil {
		fail("settings: %v", err)
	}
	if req.Prefix == "" || req.Settings.MasterName == "" || len(req.Settings.SentinelAddrs) == 0 {
		fail("settings: prefix, MasterName and SentinelAddrs are required")
	}
	rdb := redis.NewFailoverClient(&req.Settings)
	defer rdb.Close()
	ctx := context.Background()

	rec := &record{byServer: map[string]int{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pipe := rdb.Pipeline()
			pipe.Set(ctx, fmt.Sprintf("%s:%d", req.Prefix, i), i, 0)
			info := pipe.Do(ctx, "CLIENT", "INFO")
			_, err := pipe.Exec(ctx)
			now := time.Now().UnixMilli()
			rec.mu.Lock()
			if err != nil {
				rec.errors = append(rec.errors, [2]any{now, firstLine(err.Error())})
			} else {
				server := ""
				if m := laddr.FindStringSubmatch(info.String()); m != nil {
					server = m[1]
				}
				rec.acks = append(rec.acks, ack{i, now, server})
				rec.byServer[server]++
			}
			rec.mu.Unlock()
			if err != nil {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Progress until "stop" or the end of stdin.
	stopped := make(chan struct{})
	go func() {
		for {
			l, err := in.ReadString('\n')
			if strings.TrimSpace(l) == "stop" || err != nil {
				close(stopped)
				return
			}
		}
	}()
	out := json.NewEncoder(os.Stdout)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-stopped:
			break loop
		case <-tick.C:
			rec.mu.Lock()
			p := map[string]any{"acked": len(rec.acks), "byServer": copyMap(rec.byServer), "errors": len(rec.errors)}
			rec.mu.Unlock()
			_ = out.Encode(map[string]any{"progress": p})
		}
	}
	close(stop)
	<-done

	// Read back every acknowledged key through the same client (the master).
	missing := []int{}
	for k := 0; k < len(rec.acks); k += 500 {
		end := min(k+500, len(rec.acks))
		keys := make([]string, 0, end-k)
		for _, a := range rec.acks[k:end] {
			keys = append(keys, fmt.Sprintf("%s:%d", req.Prefix, a.i))
		}
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			fail("read back: %v", err)
		}
		for j, v := range vals {
			if v == nil {
				missing = append(missing, rec.acks[k+j].i)
			}
		}
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			fail("clean up: %v", err)
		}
	}
	acks := make([][3]any, len(rec.acks))
	for k, a := range rec.acks {
		acks[k] = [3]any{a.i, a.at, a.server}
	}
	errs := rec.errors
	if errs == nil {
		errs = [][2]any{}
	}
	_ = out.Encode(map[string]any{"report": map[string]any{
		"acks": acks, "errors": errs,
		"readBack": map[string]any{"via": "the FailoverClient (master)", "missing": missing},
	}})
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func copyMap(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "go-redis client: "+format+"\n", a...)
	os.Exit(1)
}
