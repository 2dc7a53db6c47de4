package main

import (
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
)

// opsQueuesPath is where the operator console shows the job queues.
const opsQueuesPath = "/ops/queues"

// opsQueues is asynqmon, the queue console: queues, tasks, failures,
// retries and the archive of dead tasks. The dashboard mounts it for
// operators only; its Redis connection closes with deps.
func (d *deps) opsQueues() (http.Handler, error) {
	opt, err := asynq.ParseRedisURI(d.cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	mon := asynqmon.New(asynqmon.Options{RootPath: opsQueuesPath, RedisConnOpt: opt})
	d.closers = append(d.closers, mon.Close)
	return mon, nil
}
