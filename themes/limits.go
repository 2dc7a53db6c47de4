package themes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Limits bound what one Render may consume. Theme code is untrusted: every
// limit is checked while the template runs, in the calling goroutine, and
// a render that crosses one stops with an error wrapping the matching
// Err… value below. A zero field takes its value from DefaultLimits.
type Limits struct {
	// Timeout bounds the wall time of one Render; the caller's context
	// deadline applies too when it is earlier. It is checked before every
	// loop iteration, filter call, tag and write, so a render overshoots it
	// by at most one such step (each is bounded by the other limits).
	Timeout time.Duration
	// MaxOutputBytes bounds the rendered page, and separately the
	// template's output that becomes content_for_layout.
	MaxOutputBytes int
	// MaxDepth bounds the nesting of render, include and section tags, and
	// so a snippet that renders itself.
	MaxDepth int
	// MaxIterations bounds the loop iterations of one render, all loops
	// together (for, tablerow, render … for), plus the elements of ranges a
	// filter turns into lists.
	MaxIterations int
	// MaxWorkBytes bounds the bytes that filters and captures produce in one
	// render, all together: the memory a template can fill without writing
	// it out (a string doubled in a loop, a huge join). Filters that can
	// multiply their input (replace, join, split, escape, …) are refused
	// before they run when their result could pass the limit.
	MaxWorkBytes int
}

// DefaultLimits are the limits used for zero fields of RenderOptions.Limits:
// generous for a real storefront page (a few hundred kilobytes rendered in
// milliseconds), tight enough that one bad theme cannot hurt the process.
var DefaultLimits = Limits{
	Timeout:        2 * time.Second,
	MaxOutputBytes: 8 << 20,
	MaxDepth:       10,
	MaxIterations:  1_000_000,
	MaxWorkBytes:   64 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultLimits.MaxOutputBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxIterations <= 0 {
		l.MaxIterations = DefaultLimits.MaxIterations
	}
	if l.MaxWorkBytes <= 0 {
		l.MaxWorkBytes = DefaultLimits.MaxWorkBytes
	}
	return l
}

// Errors for a render stopped by a limit; the error Render returns wraps
// one of them (test with errors.Is) and names the file and line it reached.
var (
	ErrTimeout        = errors.New("theme render took longer than its time limit")
	ErrOutputTooLarge = errors.New("theme render output is larger than its limit")
	ErrTooDeep        = errors.New("render, include and section tags are nested too deeply")
	ErrTooManyLoops   = errors.New("theme render ran more loop iterations than its limit")
	ErrTooMuchWork    = errors.New("theme filters and captures produced more data than their limit")
)

// budget is the resource accounting of one render. It is used by one
// goroutine, the renderer's; only expired is set from elsewhere (a timer
// and the caller's context).
type budget struct {
	limits     Limits
	ctx        context.Context
	expired    atomic.Bool
	err        error
	iterations int
	work       int
	depth      int
}

// start arms the time limit; the returned stop must be called when the
// render ends. No goroutine outlives the render: the timer and the context
// callback only set a flag, and both are released by stop.
func (b *budget) start(ctx context.Context) (stop func()) {
	b.ctx = ctx
	timer := time.AfterFunc(b.limits.Timeout, func() { b.expired.Store(true) })
	stopCtx := context.AfterFunc(ctx, func() { b.expired.Store(true) })
	return func() {
		timer.Stop()
		stopCtx()
	}
}

// fail records the first limit crossed, so that the render reports it
// whatever the template does with the error on its way up.
func (b *budget) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

// check is the cooperative cancellation point: cheap (an atomic load), and
// called before every step of a render.
func (b *budget) check() error {
	if b.err != nil {
		return b.err
	}
	if b.expired.Load() {
		if err := b.ctx.Err(); err != nil {
			return b.fail(fmt.Errorf("%w: %w", ErrTimeout, err))
		}
		return b.fail(ErrTimeout)
	}
	return nil
}

// iterate accounts n loop iterations.
func (b *budget) iterate(n int) error {
	if err := b.check(); err != nil {
		return err
	}
	if n < 0 || n > b.limits.MaxIterations-b.iterations {
		b.iterations = b.limits.MaxIterations
		return b.fail(fmt.Errorf("%w (%d)", ErrTooManyLoops, b.limits.MaxIterations))
	}
	b.iterations += n
	return nil
}

// reserve accounts n bytes of filter or capture output.
func (b *budget) reserve(n int) error {
	if err := b.check(); err != nil {
		return err
	}
	if n < 0 || n > b.limits.MaxWorkBytes-b.work {
		b.work = b.limits.MaxWorkBytes
		return b.fail(fmt.Errorf("%w (%d bytes)", ErrTooMuchWork, b.limits.MaxWorkBytes))
	}
	b.work += n
	return nil
}

// enter accounts one level of render, include or section nesting; leave
// undoes it.
func (b *budget) enter() error {
	if err := b.check(); err != nil {
		return err
	}
	if b.depth >= b.limits.MaxDepth {
		return b.fail(fmt.Errorf("%w (%d levels)", ErrTooDeep, b.limits.MaxDepth))
	}
	b.depth++
	return nil
}

func (b *budget) leave() { b.depth-- }

// pageWriter collects rendered output up to a limit.
type pageWriter struct {
	b   *budget
	buf bytes.Buffer
	max int
	// work charges the bytes to the work budget too (captures).
	work bool
}

func (w *pageWriter) Write(p []byte) (int, error) {
	if err := w.b.check(); err != nil {
		return 0, err
	}
	if len(p) > w.max-w.buf.Len() {
		return 0, w.b.fail(fmt.Errorf("%w (%d bytes)", ErrOutputTooLarge, w.max))
	}
	if w.work {
		if err := w.b.reserve(len(p)); err != nil {
			return 0, err
		}
	}
	return w.buf.Write(p)
}

func (w *pageWriter) WriteString(s string) (int, error) {
	if err := w.b.check(); err != nil {
		return 0, err
	}
	if len(s) > w.max-w.buf.Len() {
		return 0, w.b.fail(fmt.Errorf("%w (%d bytes)", ErrOutputTooLarge, w.max))
	}
	if w.work {
		if err := w.b.reserve(len(s)); err != nil {
			return 0, err
		}
	}
	return w.buf.WriteString(s)
}
