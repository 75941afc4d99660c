package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
)

// A shared-cache value is sealed to the key it is stored under:
//
//	"NTS" | version 1 | HMAC-SHA256(secret, key | 0 | payload) | payload (nails.Result.MarshalBinary)
//
// Redis, and whoever can reach it, is outside the trust boundary. With a secret
// (NAILTRT_REDIS_SECRET or its file), only a replica holding it can write a value
// another replica accepts: a forged, damaged or foreign value, or a valid one copied
// under another photo's key, fails the tag. Without a secret the tag is keyed with the
// empty string, a plain digest of key and payload: it still catches damage and values
// moved between keys (the key holds the photo's SHA-256), but anyone who can write to
// Redis can compute it.
const (
	sealMagic   = "NTS"
	sealVersion = 1
	sealHeader  = len(sealMagic) + 1 + sha256.Size
	// minSecret is the shortest secret accepted: a MAC key that can be guessed
	// protects nothing.
	minSecret = 16
)

// errSealed is a value that is not this key's, or not intact.
var errSealed = errors.New("shared value fails its tag: damaged, forged, or stored under another key")

// sealValue returns payload sealed to key under secret.
func sealValue(secret []byte, key string, payload []byte) []byte {
	out := make([]byte, 0, sealHeader+len(payload))
	out = append(out, sealMagic...)
	out = append(out, sealVersion)
	out = appendTag(out, secret, key, payload)
	return append(out, payload...)
}

// openValue returns the payload of a value sealed to key under secret, or errSealed.
// The comparison is in constant time, so timing tells an attacker nothing about the tag.
func openValue(secret []byte, key string, value []byte) ([]byte, error) {
	if len(value) < sealHeader || string(value[:len(sealMagic)]) != sealMagic || value[len(sealMagic)] != sealVersion {
		return nil, fmt.Errorf("%w (no %s%d header)", errSealed, sealMagic, sealVersion)
	}
	payload := value[sealHeader:]
	want := appendTag(nil, secret, key, payload)
	if !hmac.Equal(want, value[len(sealMagic)+1:sealHeader]) {
		return nil, errSealed
	}
	return payload, nil
}

// appendTag appends HMAC-SHA256(secret, key | 0 | payload): the zero byte separates the
// key from the payload, so no two (key, payload) pairs share an input.
func appendTag(b, secret []byte, key string, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(b)
}

// redisSecret is the shared-cache MAC secret: the file's content (trailing newline
// dropped) or the variable's. Nil means none is set.
func redisSecret(value, file string) ([]byte, error) {
	if value != "" && file != "" {
		return nil, errors.New("both NAILTRT_REDIS_SECRET and NAILTRT_REDIS_SECRET_FILE are set: set one")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("NAILTRT_REDIS_SECRET_FILE: %w", err)
		}
		value = strings.TrimRight(string(b), "\r\n")
		if value == "" {
			return nil, fmt.Errorf("NAILTRT_REDIS_SECRET_FILE %s is empty", file)
		}
	}
	if value == "" {
		return nil, nil
	}
	if len(value) < minSecret {
		return nil, fmt.Errorf("the shared cache secret is %d bytes: at least %d are needed (e.g. openssl rand -hex 32)", len(value), minSecret)
	}
	return []byte(value), nil
}
