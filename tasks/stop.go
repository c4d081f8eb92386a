package tasks

import (
	"time"

	"github.com/hibiken/asynq"
)

// TypeStopPhone is the asynq task type of a stop-phone task.
const TypeStopPhone = "phone:stop"

// StopQueue is the asynq queue of stop tasks in the default namespace.
// Stops have a queue of their own, so that counts per queue show starts and
// stops side by side.
const StopQueue = "phonestart-stop"

// StopPhone is the payload of a TypeStopPhone task: one phone to shut down.
type StopPhone struct {
	ID string `json:"id"`
	// Gen is the generation of the phone's record this task was made for;
	// 0 for a task written without a record, which the worker adopts.
	Gen int64 `json:"gen,omitempty"`
	// Task is which task of that generation this is, from 1.
	Task int `json:"task,omitempty"`
	// NotBefore, when set, is the exact time the stop is for: asynq
	// schedules to the whole second, so the task comes due at the second
	// before it and the worker waits out the rest.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Attempts is read from tasks of earlier versions, and ignored.
	Attempts int `json:"attempts,omitempty"`
}

// Validate reports the first problem with the payload.
func (p StopPhone) Validate() error {
	return validateTask(p.ID, p.Gen, p.Task, p.Attempts)
}

// NewStop returns the task that stops p.ID in queue, with ID taskID; extra
// options (ProcessAt) are appended.
func NewStop(p StopPhone, queue, taskID string, extra ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeStopPhone, queue, taskID, p, extra)
}

// ParseStopPhone decodes and checks a stop-phone payload. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func ParseStopPhone(b []byte) (StopPhone, error) {
	var p StopPhone
	err := parse(TypeStopPhone, b, &p)
	return p, err
}
