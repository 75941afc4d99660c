// Package benchkit holds what nailtrt's benchmarks share: photos at the sizes users
// send, made from the shipped example photo, byte-varied copies that miss every cache,
// and the process's memory as the kernel counts it.
package benchkit
