package console_test

import (
	"testing"
)

func TestConsoleSmoke(t *testing.T) {
	e := newEnv(t)
	p := e.open(t)
	p.signIn(e.masterKeyID(), masterSecret)
	p.waitText("main h1", "Buckets")
}
