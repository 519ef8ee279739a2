// Package browsertest proves CORS with a real browser: Debian's Chromium,
// driven from Go with chromedp, loads a page from one origin and calls the
// gateway at another, and the tests assert the browser's verdict (the
// script may read the answer, or fetch fails because CORS blocked it).
//
// The harness installs Chromium itself when it is missing (apt-get, as
// root) and starts it with the flags ENVIRONMENT.md lists, so it never
// floods the closed network.
package browsertest
