// Package ratelimit is a leaky-bucket rate limiter kept in Redis, so that a
// limit holds across every process of the fleet. Each request pours into a
// bucket that leaks at a steady rate; a request that would overflow it is
// refused, with the time until it would fit.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bucket is a limit: how much a bucket holds and how fast it drains.
type Bucket struct {
	Capacity int     // requests the bucket holds
	Leak     float64 // requests drained per second
}

// Result is the bucket's state after a request.
type Result struct {
	Allowed    bool
	Level      float64       // how full the bucket is now (after this request, if allowed)
	Capacity   int           // the bucket's size
	RetryAfter time.Duration // when refused: how long until the request would fit
}

// Used is the bucket level rounded up, as the call-limit header shows it.
func (r Result) Used() int { return int(math.Ceil(r.Level - 1e-9)) }

// Limiter checks requests against buckets in Redis.
type Limiter struct {
	rdb *redis.Client
}

// New returns a limiter on rdb.
func New(rdb *redis.Client) *Limiter { return &Limiter{rdb: rdb} }

// leak drains the bucket for the time since it was last touched (Redis's own
// clock, so every process agrees), then pours in the cost if it fits. The
// key expires once the bucket would be empty.
var leak = redis.NewScript(`
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
level = math.max(0, level - (now - at) * rate / 1000)
if level + cost > capacity then
  return {0, tostring(level), tostring((level + cost - capacity) / rate)}
end
level = level + cost
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 1000)
return {1, tostring(level), '0'}
`)

// Take pours one request into the bucket named key.
func (l *Limiter) Take(ctx context.Context, key string, b Bucket) (Result, error) {
	res, err := leak.Run(ctx, l.rdb, []string{"ratelimit:" + key}, b.Capacity, b.Leak, 1).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(res) != 3 {
		return Result{}, fmt.Errorf("rate limit %s: unexpected reply %v", key, res)
	}
	allowed, _ := res[0].(int64)
	level, err1 := strconv.ParseFloat(fmt.Sprint(res[1]), 64)
	wait, err2 := strconv.ParseFloat(fmt.Sprint(res[2]), 64)
	if err1 != nil || err2 != nil {
		return Result{}, fmt.Errorf("rate limit %s: unexpected reply %v", key, res)
	}
	return Result{
		Allowed:    allowed == 1,
		Level:      level,
		Capacity:   b.Capacity,
		RetryAfter: time.Duration(wait * float64(time.Second)),
	}, nil
}
