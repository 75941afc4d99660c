package trt

/*
#include <stdlib.h>
#include "nailtrt.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
)

// call runs one native call and, when it fails, reads the thread's last-error message
// before anything else can run on that OS thread. The goroutine is locked to its thread
// for the pair, as go-nvml does around dlerror.
func call(op string, f func() C.nt_status) error {
	runtime.LockOSThread()
	st := f()
	var msg string
	if st != C.NT_OK {
		msg = C.GoString(C.nt_last_error())
	}
	runtime.UnlockOSThread()
	if st == C.NT_OK {
		return nil
	}
	return &Error{Op: op, Code: Code(st), Msg: msg}
}

var abiOnce = sync.OnceValue(func() error {
	if v := uint32(C.nt_abi_version()); v != C.NT_ABI_VERSION {
		return &Error{Op: "load libnailtrt", Code: CodeUnavailable,
			Msg: fmt.Sprintf("libnailtrt.so speaks ABI %d, this package was built for %d: rebuild with `make native`", v, C.NT_ABI_VERSION)}
	}
	installLogger()
	return nil
})

// checkABI verifies, once, that the loaded libnailtrt.so matches the header this package
// was compiled with. Every constructor calls it.
func checkABI() error { return abiOnce() }
