// Package tasks is phonestart's wire contract: the asynq task types, queues
// and payloads that workers process. TypeStartPhone, TypeStopPhone and the
// payloads' JSON field names never change once shipped.
//
// A task only says that a phone has work waiting: what the phone is asked
// to do, and where it is, is its record (package enqueue writes it, and
// every worker's step moves it). Each task carries the generation of the
// record's intent it was made for; a worker acknowledges a task whose
// generation is no longer the record's without doing anything. So the way
// to ask for phones is package enqueue (or `phonestart api` from any
// language), never a task written by hand: a task without a generation
// (Gen 0) is adopted, as if enqueue had been asked for its phone, and then
// goes on as any other.
package tasks

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
)

// TypeStartPhone is the asynq task type of a start-phone task.
const TypeStartPhone = "phone:start"

// Queue is the asynq queue of start tasks in the default namespace
// (PHONESTART_NAMESPACE names the queues of another deployment), so that
// phonestart can share a Redis with other asynq applications.
const Queue = "phonestart"

// MaxRetry is the asynq retry ceiling written on every task. Workers stop a
// phone earlier, at their configured max attempts (kept in its record);
// this only bounds a task that keeps failing for no phone's fault.
const MaxRetry = 1000

// Timeout bounds one attempt of a task: waiting for a batch to form, for the
// API budget, and for the call itself.
const Timeout = 15 * time.Minute

// StartPhone is the payload of a TypeStartPhone task: one phone and the
// options to start it with.
type StartPhone struct {
	ID      string               `json:"id"`
	Options geelark.StartOptions `json:"options"`
	// Gen is the generation of the phone's record this task was made for;
	// 0 for a task written without a record, which the worker adopts.
	Gen int64 `json:"gen,omitempty"`
	// Task is which task of that generation this is, from 1 (see TaskID).
	Task int `json:"task,omitempty"`
	// StopAfter, for an adopted task, asks for a stop of the phone that
	// long after it became ready: the billing guard. In nanoseconds on the
	// wire. Tasks with a record keep it there.
	StopAfter time.Duration `json:"stop_after,omitempty"`
	// Attempts is read from tasks of earlier versions, and ignored: a
	// phone's attempts are kept in its record.
	Attempts int `json:"attempts,omitempty"`
}

// Validate reports the first problem with the payload.
func (p StartPhone) Validate() error {
	if err := validateTask(p.ID, p.Gen, p.Task, p.Attempts); err != nil {
		return err
	}
	if p.StopAfter < 0 {
		return fmt.Errorf("stop_after %v is negative", p.StopAfter)
	}
	return p.Options.Validate()
}

// validateTask checks what start and stop payloads have in common.
func validateTask(id string, gen int64, task, attempts int) error {
	if err := geelark.ValidateID(id); err != nil {
		return err
	}
	switch {
	case gen < 0:
		return fmt.Errorf("gen %d is negative", gen)
	case task < 0:
		return fmt.Errorf("task %d is negative", task)
	case attempts < 0 || attempts > MaxRetry:
		return fmt.Errorf("attempts %d is outside 0..%d", attempts, MaxRetry)
	}
	return nil
}

// TaskID returns the asynq task ID of a phone's task for generation gen,
// the n-th of that generation (a phone started again after a failed boot
// gets a new one): ID:gen:n. Task IDs never repeat, so a task is never
// refused for an ID an earlier one held.
func TaskID(phoneID string, gen int64, n int) string {
	return fmt.Sprintf("%s:%d:%d", phoneID, gen, n)
}

// NewStart returns the task that starts p.ID in queue, with ID taskID, the
// timeout and retry ceiling every phonestart task has, and extra options
// (ProcessAt) appended.
func NewStart(p StartPhone, queue, taskID string, extra ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeStartPhone, queue, taskID, p, extra)
}

// NewStartTask returns a start task without a record for phoneID, in the
// default namespace's queue: the worker adopts it (see the package
// comment). Producers should use package enqueue.
func NewStartTask(phoneID string, opts geelark.StartOptions, extra ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeStartPhone, Queue, phoneID, StartPhone{ID: phoneID, Options: opts}, extra)
}

// payload is a task payload: it checks itself.
type payload interface{ Validate() error }

// newTask returns a task of type typ in queue with ID id, carrying p as
// JSON, with the timeout and retry ceiling every phonestart task has, and
// extra options appended.
func newTask(typ, queue, id string, p payload, extra []asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("tasks: encode payload: %w", err)
	}
	opts := append([]asynq.Option{
		asynq.TaskID(id),
		asynq.Queue(queue),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(Timeout),
	}, extra...)
	return asynq.NewTask(typ, b, opts...), nil
}

// parse decodes and checks a payload of type typ into p. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func parse(typ string, b []byte, p payload) error {
	if err := json.Unmarshal(b, p); err != nil {
		return fmt.Errorf("tasks: bad %s payload: %v: %w", typ, err, asynq.SkipRetry)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("tasks: bad %s payload: %v: %w", typ, err, asynq.SkipRetry)
	}
	return nil
}

// ParseStartPhone decodes and checks a start-phone payload. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func ParseStartPhone(b []byte) (StartPhone, error) {
	var p StartPhone
	err := parse(TypeStartPhone, b, &p)
	return p, err
}
