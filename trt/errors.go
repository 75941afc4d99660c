package trt

import (
	"errors"
	"fmt"
)

// Code mirrors nt_status in nailtrt.h.
type Code int

const (
	CodeOK              Code = 0
	CodeInvalidArgument Code = 1
	CodeNotFound        Code = 2
	CodeUnavailable     Code = 3
	CodeInvalidModel    Code = 4
	CodeShape           Code = 5
	CodeDType           Code = 6
	CodeOutOfMemory     Code = 7
	CodeRuntime         Code = 8
	CodeCancelled       Code = 9
	CodeInternal        Code = 10
	// CodeClosed is Go-side only: the value was used after Close.
	CodeClosed Code = 100
	// CodeBusy is Go-side only: Close was refused because something still uses the value.
	CodeBusy Code = 101
)

// Sentinels for errors.Is. Every *Error matches exactly one of them, by Code.
var (
	ErrInvalidArgument = errors.New("trt: invalid argument")
	ErrNotFound        = errors.New("trt: not found")
	ErrUnavailable     = errors.New("trt: backend unavailable")
	ErrInvalidModel    = errors.New("trt: invalid model")
	ErrShape           = errors.New("trt: shape mismatch")
	ErrDType           = errors.New("trt: dtype mismatch")
	ErrOutOfMemory     = errors.New("trt: out of memory")
	ErrRuntime         = errors.New("trt: runtime error")
	ErrCancelled       = errors.New("trt: cancelled")
	ErrInternal        = errors.New("trt: internal error")
	ErrClosed          = errors.New("trt: use after close")
	ErrBusy            = errors.New("trt: still in use")
)

var sentinels = map[Code]error{
	CodeInvalidArgument: ErrInvalidArgument,
	CodeNotFound:        ErrNotFound,
	CodeUnavailable:     ErrUnavailable,
	CodeInvalidModel:    ErrInvalidModel,
	CodeShape:           ErrShape,
	CodeDType:           ErrDType,
	CodeOutOfMemory:     ErrOutOfMemory,
	CodeRuntime:         ErrRuntime,
	CodeCancelled:       ErrCancelled,
	CodeInternal:        ErrInternal,
	CodeClosed:          ErrClosed,
	CodeBusy:            ErrBusy,
}

// Error is every error this package returns.
type Error struct {
	Op   string // what was being done: "open engines/x.onnx", "run", ...
	Code Code
	Msg  string // the native runner's message, or the Go-side reason
	Err  error  // an underlying cause, e.g. context.Canceled; may be nil
}

func (e *Error) Error() string { return fmt.Sprintf("trt: %s: %s", e.Op, e.Msg) }

// Unwrap returns the underlying cause, so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool { return sentinels[e.Code] == target }

func errorf(op string, code Code, format string, args ...any) error {
	return &Error{Op: op, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func closedError(op, what string) error {
	return &Error{Op: op, Code: CodeClosed, Msg: what + " is closed"}
}
