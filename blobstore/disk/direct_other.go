//go:build !linux

package disk

// oDirect is zero where the platform has no O_DIRECT: writes stay buffered.
const oDirect = 0
