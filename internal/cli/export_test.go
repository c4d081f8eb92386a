package cli

// PrintVersion is printVersion, for tests.
var PrintVersion = printVersion
