//go:build unix && !linux

package main

import (
	"context"
	"errors"
)

// runMDNS needs Linux network namespaces.
func runMDNS(context.Context, *bench) ([]row, error) {
	return nil, errors.New("needs Linux network namespaces")
}
